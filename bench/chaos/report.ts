/** The printed report of a chaos run (stdout), and the machine it ran on. */
import { cpus, totalmem } from 'node:os';
import type { GatewayFigures } from './metrics.ts';
import type { ChaosOptions } from './options.ts';
import type { Tally } from './tally.ts';

/** Everything the report shows. */
export interface ReportInput {
  readonly options: ChaosOptions;
  readonly result: Tally;
  readonly elapsedMs: number;
  readonly requests: number;
  readonly moneyRequests: number;
  readonly kills: number;
  readonly missedKills: number;
  readonly gateway: GatewayFigures;
  readonly brokerLine: string;
  readonly gatewayProblems: ReadonlyMap<string, number>;
  readonly dir: string;
  readonly kept: boolean;
}

const counts = (figures: Record<string, number>): string =>
  Object.entries(figures).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([what, n]) => `${what} ${n}`).join(', ') || '0';
const row = (name: string, value: string | number): string => `  ${name.padEnd(22)} ${value}`;

/** Prints the report. */
export function printReport(input: ReportInput): void {
  const { result, options } = input;
  const cpu = cpus();
  const lines = [
    `paygate chaos: ${options.broker}, ${input.requests} requests (${input.moneyRequests} moving money), ${options.inFlight} in flight, seed ${options.seed}`,
    `machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
    row('answered', result.counts.answered),
    row('reconciled', `${result.counts.reconciled} (by retry ${result.reconciledVia.retry}, by status ${result.reconciledVia.status})`),
    row('unknown', `${result.counts.unknown} (no answer, no money moved)`),
    row('lost', result.counts.lost),
    row('charged twice', result.chargedTwice),
    row('phantom approvals', result.counts.phantom),
    row('not approved', Object.entries(result.notApproved).map(([status, n]) => `${status} ${n}`).join(', ') || '0'),
    row('orphan movements', result.orphans),
    row('elapsed', `${(input.elapsedMs / 1000).toFixed(1)} s`),
    row('requests/s', (input.requests / (input.elapsedMs / 1000)).toFixed(1)),
    row('worker kills', `${input.kills} (ticks with no ready worker: ${input.missedKills})`),
    row('worker restarts', counts(input.gateway.restarts)),
    row('gateway error replies', counts(input.gateway.errorCodes)),
    row('plugin exceptions', counts(input.gateway.handlerErrors)),
    `  ${input.brokerLine}`,
    ...(input.gatewayProblems.size === 0 ? [] : ['gateway log, warn and error lines by message:', ...[...input.gatewayProblems].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([msg, n]) => `  ${String(n).padStart(6)}  ${msg}`)]),
    ...(result.examples.length === 0 ? [] : ['problems:', ...result.examples.map((line) => `  ${line}`)]),
    input.kept ? `kept ${input.dir} (gateway.log, gateway.yaml, metrics.txt, idempotency.sqlite, broker data) for a look` : '',
    result.counts.lost === 0 && result.chargedTwice === 0 && result.counts.phantom === 0 ? 'verdict: PASS (nothing lost, nothing charged twice)' : 'verdict: FAIL',
  ];
  process.stdout.write(`${lines.filter((line) => line !== '').join('\n')}\n`);
}
