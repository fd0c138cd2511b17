/** What the report takes from the gateway's `/metrics` (prom-client text format). */

/** Sums of one counter's samples, grouped by the values of `labels` (joined by a space). */
export function sumBy(text: string, metric: string, labels: readonly string[]): Record<string, number> {
  const sums: Record<string, number> = {};
  const line = new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm');
  for (const match of text.matchAll(line)) {
    const pairs = new Map([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1] ?? '', pair[2] ?? '']));
    const key = labels.map((label) => pairs.get(label) ?? '').join(' ');
    sums[key] = (sums[key] ?? 0) + Number(match[2]);
  }
  return sums;
}

/** The figures the report prints. */
export interface GatewayFigures {
  readonly restarts: Record<string, number>;
  /** Exceptions of plugin handlers and status hooks, by `hook provider`. */
  readonly handlerErrors: Record<string, number>;
  /** Replies that carried an error code, by code. */
  readonly errorCodes: Record<string, number>;
}

export function figuresOf(text: string): GatewayFigures {
  return {
    restarts: sumBy(text, 'paygate_worker_restarts_total', ['cause']),
    handlerErrors: sumBy(text, 'paygate_handler_errors_total', ['hook', 'provider']),
    errorCodes: sumBy(text, 'paygate_request_errors_total', ['code']),
  };
}
