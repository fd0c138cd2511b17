/**
 * The scan's running totals: counts by kind, traffic per provider, the cipher inventory, the
 * recipients, the anomalies. Every table that a hostile capture could grow (a new provider, OID
 * or recipient in every message) is bounded: past its limit, further distinct rows are counted
 * together in one row named `(more than N …)`, so memory never grows with the capture.
 */
import {
  MAX_LISTED_ANOMALIES, MESSAGE_KINDS,
  type Anomaly, type AnomalyKind, type CipherUse, type MessageKind, type ProviderTraffic, type RecipientSeen,
} from './scan-report.ts';

/** Distinct rows kept per table before the rest are counted together. */
export const MAX_DISTINCT_ROWS = 1000;

/** A map with at most `limit` keys; later keys fall into one overflow row. */
export class BoundedTable<V> {
  readonly #rows = new Map<string, V>();
  #overflow: V | undefined;

  constructor(
    private readonly make: (key: string, overflow: boolean) => V,
    private readonly limit = MAX_DISTINCT_ROWS,
  ) {}

  /** The row of `key` (created on first use, or the overflow row once the table is full). */
  row(key: string): V {
    let row = this.#rows.get(key);
    if (row === undefined) {
      if (this.#rows.size >= this.limit) {
        this.#overflow ??= this.make(key, true);
        return this.#overflow;
      }
      row = this.make(key, false);
      this.#rows.set(key, row);
    }
    return row;
  }

  /** The row of `key` if it exists (never creates one). */
  peek(key: string): V | undefined {
    return this.#rows.get(key);
  }

  /** Every row, the overflow row last. */
  values(): V[] {
    return this.#overflow === undefined ? [...this.#rows.values()] : [...this.#rows.values(), this.#overflow];
  }

  /** The rows sorted by `compare`, the overflow row still last. */
  sorted(compare: (a: V, b: V) => number): V[] {
    const rows = [...this.#rows.values()].sort(compare);
    return this.#overflow === undefined ? rows : [...rows, this.#overflow];
  }
}

interface ProviderRow { provider: string; requests: number; replies: number; dead_letters: number }
type CipherRow = { -readonly [K in keyof CipherUse]: CipherUse[K] };
interface RecipientRow { issuer: string; serial: string; messages: number; key: string }

/** The anomalies: all counted, the first {@link MAX_LISTED_ANOMALIES} kept. */
export class AnomalyLog {
  total = 0;
  readonly byKind: Partial<Record<AnomalyKind, number>> = {};
  readonly listed: Anomaly[] = [];

  add(anomaly: Anomaly): void {
    this.total++;
    this.byKind[anomaly.kind] = (this.byKind[anomaly.kind] ?? 0) + 1;
    if (this.listed.length < MAX_LISTED_ANOMALIES) this.listed.push(anomaly);
  }
}

/** The running totals of a scan. */
export class Tally {
  readonly counts = Object.fromEntries([...MESSAGE_KINDS.map((k) => [k, 0]), ['encrypted', 0], ['clear', 0]]) as Record<MessageKind | 'encrypted' | 'clear', number>;
  readonly anomalies = new AnomalyLog();
  readonly providers = new BoundedTable<ProviderRow>((key, overflow) => ({
    provider: overflow ? `(more than ${MAX_DISTINCT_ROWS} providers)` : key, requests: 0, replies: 0, dead_letters: 0,
  }));
  readonly ciphers = new BoundedTable<CipherRow>((key, overflow) => {
    const [content, keyManagement, bits] = key.split('\n') as [string, string, string];
    return overflow
      ? { content_encryption: `(more than ${MAX_DISTINCT_ROWS} combinations)`, key_management: '', messages: 0, status: 'refused' }
      : { content_encryption: content, key_management: keyManagement, ...(bits === '' ? {} : { rsa_bits: Number(bits) }), messages: 0, status: 'approved' };
  });
  readonly recipients = new BoundedTable<RecipientRow>((key, overflow) => ({
    issuer: overflow ? `(more than ${MAX_DISTINCT_ROWS} recipients)` : '', serial: '', messages: 0, key: overflow ? '' : key,
  }));
  messages = 0;
  bytes = 0;
  firstTime: string | undefined;
  lastTime: string | undefined;
  readonly sources = new Set<string>();

  /** Notes a message's kind, size, time and source. */
  noteMessage(kind: MessageKind, bytes: number, time: string, source: string): void {
    this.messages++;
    this.bytes += bytes;
    this.counts[kind]++;
    if (this.firstTime === undefined || time < this.firstTime) this.firstTime = time;
    if (this.lastTime === undefined || time > this.lastTime) this.lastTime = time;
    this.sources.add(source);
  }

  /** Providers in name order, with their request types from the trail. */
  providerRows(byType: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined): ProviderTraffic[] {
    for (const provider of byType?.keys() ?? []) this.providers.row(provider);
    return this.providers
      .sorted((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0))
      .map((row) => ({
        ...row,
        by_type: [...(byType?.get(row.provider) ?? new Map<string, number>())].map(([type, count]) => ({ type, count })),
      }));
  }

  /** The cipher inventory, most used first. */
  cipherRows(): CipherUse[] {
    return this.ciphers.sorted((a, b) => b.messages - a.messages).map((row) => ({ ...row }));
  }

  /** Recipients, most addressed first, with the known certificate each names. */
  recipientRows(certificateOf: (key: string) => RecipientSeen['certificate'] | undefined): RecipientSeen[] {
    return this.recipients
      .sorted((a, b) => b.messages - a.messages)
      .map(({ key, ...row }) => {
        const certificate = key === '' ? undefined : certificateOf(key);
        return certificate === undefined ? row : { ...row, certificate };
      });
  }
}
