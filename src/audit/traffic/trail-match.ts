/**
 * Matching the capture with the audit trail, both ways, in bounded memory: the captured request
 * and reply digests and the trail's records go into a temporary SQLite file (deleted after), and
 * indexed queries find a captured message no record names (`unrecorded_message`) and a record
 * whose request or reply was never captured (`unseen_message`). Memory stays that of SQLite's
 * page cache whatever the sizes of the capture and the trail.
 *
 * A reply no record names by its digest is still accounted for when its `correlation-id` is that
 * of a CAPTURED request a record names by digest (the request's own `correlation-id` header, or
 * the record's request id or correlation id), captured before the reply: a request answered
 * twice, after a worker lost its connection between its reply and its ACK, is one record (the
 * trail records contents and outcomes, not deliveries) and two replies on the wire. Since the
 * header is set by whoever sends, a broker login could otherwise excuse any number of forged
 * replies with one recorded id: at most `limit` replies per correlation id are tied this way
 * (the first ones captured), every further one is `unrecorded_message`. Such replies are counted
 * apart (`replies_by_correlation`); the reply's destination cannot be compared with the request's
 * `reply-to` (brokers rewrite it: `/temp-queue/x` is answered on `/remote-temp-queue/…`). A
 * capture without headers (RabbitMQ's firehose over STOMP) cannot tie them, and they stay
 * `unrecorded_message`.
 *
 * Matching is by digest, not by count: the same body captured twice (a client retry re-sending
 * the same bytes, a capture duplicate after a crash) matches the one record that names it, and a
 * record repeated in the trail matches the one message. Duplicates are counted, never flagged.
 *
 * A capture covers less time than the trail. Which records the capture must hold is decided by
 * time (see {@link MatchWindow}); which captured messages the trail must name, by the trail's end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { isCheckpoint } from '../checkpoint.ts';
import { AuditError } from '../errors.ts';
import type { ChainSource } from '../sources.ts';
import type { Anomaly, TrailSide } from './scan-report.ts';

/** Which trail records the capture is expected to hold. */
export interface MatchWindow {
  /**
   * A record is expected on the wire only when its request reached the worker (its time minus
   * its `duration_ms`) at least this long after the capture's first message: a request already
   * queued when the capture started was sent before it and is not in it.
   */
  readonly leadMs: number;
  /** A record is expected only when its time is at most this long after the capture's last message. */
  readonly tailMs: number;
}

/** How the matching treats what only a header ties. */
export interface MatchRules extends MatchWindow {
  /** Replies tied to a recorded request by correlation id, at most, per correlation id. */
  readonly maxRepliesByCorrelation: number;
}

/** What the trail side of the scan found besides the anomalies. */
export interface TrailFindings {
  readonly side: Omit<TrailSide, 'chain'>;
  /** Request types per provider, from the records of the captured requests. */
  readonly byType: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Captured requests and replies whose digest an earlier captured message of the same kind had. */
  readonly duplicates: number;
  /** Trail entries that are neither a checkpoint nor an audit record (not matched). */
  readonly unreadable: number;
}

/** The fields of an audit record (src/audit/events.ts) the matching reads; the rest is not needed. */
const recordFields = z.object({
  time: z.iso.datetime({ offset: false }),
  request_id: z.string().max(64).nullable(),
  correlation_id: z.string().max(256).nullable().optional(),
  provider: z.string().max(64),
  type: z.string().max(64).nullable(),
  outcome: z.object({ status: z.string().max(32), code: z.string().max(64).optional() }),
  request_body_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  reply_body_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  duration_ms: z.number().nonnegative().optional(),
});

const KIND_REQUEST = 0;
const KIND_REPLY = 1;
const BATCH = 5000;
/**
 * SQL condition on a captured reply `c`: its correlation id is that of a request captured before
 * it (lower seq) that an audit record names by digest: the request's own `correlation-id`
 * header, or the record's request id (what a worker answers with when the request had no
 * header) or correlation id.
 */
const TIED_TO_A_CAPTURED_REQUEST = `c.correlation IS NOT NULL AND (
  EXISTS (SELECT 1 FROM captured q WHERE q.correlation = c.correlation AND q.kind = 0 AND q.seq < c.seq
    AND EXISTS (SELECT 1 FROM records r WHERE r.req = q.digest))
  OR EXISTS (SELECT 1 FROM records r WHERE r.request_id = c.correlation
    AND EXISTS (SELECT 1 FROM captured q WHERE q.kind = 0 AND q.digest = r.req AND q.seq < c.seq))
  OR EXISTS (SELECT 1 FROM records r WHERE r.correlation_id = c.correlation
    AND EXISTS (SELECT 1 FROM captured q WHERE q.kind = 0 AND q.digest = r.req AND q.seq < c.seq)))`;
/** Outcomes counted as refusals: the request was not served (a business decline is not one). */
const REFUSED_STATUSES = new Set(['error', 'dead_lettered']);

/** A temporary matching database in `workDir`. */
export class TrailMatcher {
  readonly #dir: string;
  readonly #db: SqliteDatabase;
  readonly #insertCaptured: Statement;
  #pending: unknown[][] = [];

  private constructor(dir: string, db: SqliteDatabase) {
    this.#dir = dir;
    this.#db = db;
    this.#insertCaptured = db.prepare('INSERT INTO captured (seq, kind, digest, time_ms, time, destination, correlation) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  /** Creates the database in a new folder under `workDir`. Fails with AUDIT_BAD_OPTION when it cannot. */
  static open(workDir: string): TrailMatcher {
    let dir: string | undefined;
    try {
      dir = mkdtempSync(join(workDir, 'paygate-scan-'));
      const db = new Database(join(dir, 'match.sqlite'));
      // A scratch file: nothing survives a crash on purpose, so no journal and no syncs.
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.pragma('cache_size = -16384');
      db.exec(`
        CREATE TABLE captured (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, digest BLOB NOT NULL, time_ms INTEGER NOT NULL, time TEXT NOT NULL,
          destination TEXT NOT NULL, correlation TEXT);
        CREATE TABLE records (id INTEGER PRIMARY KEY, req BLOB NOT NULL, rep BLOB, time_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
          request_id TEXT, correlation_id TEXT, provider TEXT NOT NULL, type TEXT, status TEXT NOT NULL, code TEXT);
      `);
      return new TrailMatcher(dir, db);
    } catch (error) {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      throw new AuditError('AUDIT_BAD_OPTION', `the matching database cannot be created in ${workDir}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Notes a captured request or reply, with its `correlation-id` header when it has one. */
  addCaptured(kind: 'request' | 'reply', seq: number, time: string, destination: string, digest: string, correlation?: string): void {
    this.#pending.push([seq, kind === 'request' ? KIND_REQUEST : KIND_REPLY, Buffer.from(digest, 'hex'), Date.parse(time), time, destination, correlation ?? null]);
    if (this.#pending.length >= BATCH) this.#flushCaptured();
  }

  #flushCaptured(): void {
    const rows = this.#pending;
    this.#pending = [];
    this.#run(() => this.#db.transaction(() => {
      for (const row of rows) this.#insertCaptured.run(...row);
    })());
  }

  /** Reads the trail's audit records (checkpoints skipped); returns the entries that were neither. */
  async loadTrail(source: ChainSource): Promise<{ records: number; unreadable: number; firstMs?: number; lastMs?: number }> {
    this.#flushCaptured();
    const insert = this.#db.prepare(
      'INSERT INTO records (req, rep, time_ms, received_ms, request_id, correlation_id, provider, type, status, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    let batch: unknown[][] = [];
    const flush = (): void => {
      const rows = batch;
      batch = [];
      this.#run(() => this.#db.transaction(() => {
        for (const row of rows) insert.run(...row);
      })());
    };
    let records = 0;
    let unreadable = 0;
    let firstMs: number | undefined;
    let lastMs: number | undefined;
    for await (const entry of source.entries()) {
      if (isCheckpoint(entry)) continue;
      const record = parseRecord(entry.content);
      if (record === undefined) {
        unreadable++;
        continue;
      }
      records++;
      const timeMs = Date.parse(record.time);
      firstMs = firstMs === undefined ? timeMs : Math.min(firstMs, timeMs);
      lastMs = lastMs === undefined ? timeMs : Math.max(lastMs, timeMs);
      batch.push([
        Buffer.from(record.request_body_sha256, 'hex'),
        record.reply_body_sha256 === undefined ? null : Buffer.from(record.reply_body_sha256, 'hex'),
        timeMs,
        Math.round(timeMs - (record.duration_ms ?? 0)),
        record.request_id,
        record.correlation_id ?? null,
        record.provider,
        record.type,
        record.outcome.status,
        record.outcome.code ?? null,
      ]);
      if (batch.length >= BATCH) flush();
    }
    flush();
    return { records, unreadable, ...(firstMs === undefined ? {} : { firstMs }), ...(lastMs === undefined ? {} : { lastMs }) };
  }

  /**
   * Matches both ways and reports each anomaly through `report`. `capture` is the capture's
   * time range (undefined for an empty capture); `loaded` what {@link loadTrail} read.
   */
  match(
    source: string,
    loaded: { records: number; unreadable: number; firstMs?: number; lastMs?: number },
    capture: { firstMs: number; lastMs: number } | undefined,
    rules: MatchRules,
    report: (anomaly: Anomaly) => void,
  ): TrailFindings {
    return this.#run(() => {
      this.#db.exec(`
        CREATE INDEX captured_by_digest ON captured (kind, digest);
        CREATE INDEX captured_by_correlation ON captured (correlation, kind, seq) WHERE correlation IS NOT NULL;
        CREATE INDEX records_by_req ON records (req);
        CREATE INDEX records_by_rep ON records (rep) WHERE rep IS NOT NULL;
        CREATE INDEX records_by_request_id ON records (request_id);
        CREATE INDEX records_by_correlation_id ON records (correlation_id);
      `);
      const count = (sql: string, ...params: unknown[]): number => (this.#db.prepare(sql).pluck().get(...params) as number | null) ?? 0;
      const matchedRequests = count('SELECT count(*) FROM captured c WHERE kind = 0 AND EXISTS (SELECT 1 FROM records r WHERE r.req = c.digest)');
      const matchedReplies = count('SELECT count(*) FROM captured c WHERE kind = 1 AND EXISTS (SELECT 1 FROM records r WHERE r.rep = c.digest)');
      const duplicates = count('SELECT count(*) FROM captured') - count('SELECT count(*) FROM (SELECT DISTINCT kind, digest FROM captured)');

      // A message captured after the trail's last record may not be recorded yet: it is not judged.
      // An empty trail judges every message: traffic without any record is what an auditor must see.
      const judgedUntil = loaded.lastMs ?? Number.MAX_SAFE_INTEGER;
      const messagesJudged = count('SELECT count(*) FROM captured WHERE time_ms <= ?', judgedUntil);
      const repliesByCorrelation = this.#tieByCorrelation(judgedUntil, rules.maxRepliesByCorrelation);
      const unrecorded = this.#db.prepare(`
        SELECT seq, kind, digest, time, destination, (kind = 1 AND ${TIED_TO_A_CAPTURED_REQUEST}) AS over_limit FROM captured c WHERE time_ms <= ? AND NOT EXISTS (
          SELECT 1 FROM records r WHERE (c.kind = 0 AND r.req = c.digest) OR (c.kind = 1 AND r.rep = c.digest)
        ) AND NOT EXISTS (SELECT 1 FROM tied t WHERE t.seq = c.seq) ORDER BY seq`);
      type UnrecordedRow = { seq: number; kind: number; digest: Buffer; time: string; destination: string; over_limit: number };
      for (const row of unrecorded.iterate(judgedUntil) as IterableIterator<UnrecordedRow>) {
        const what = row.kind === KIND_REQUEST ? 'request' : 'reply';
        const beyond = row.over_limit === 1
          ? `; its correlation id names a captured, recorded request, which already has ${rules.maxRepliesByCorrelation} replies tied to it that way (the most allowed)`
          : '';
        report({
          kind: 'unrecorded_message', seq: row.seq, time: row.time, destination: row.destination, body_sha256: row.digest.toString('hex'),
          detail: `a captured ${what} that no audit record names (${what === 'request' ? 'request_body_sha256' : 'reply_body_sha256'})${beyond}`,
        });
      }
      const recordsExpected = capture === undefined ? 0 : this.#reportUnseen(capture, rules, report);
      const side: Omit<TrailSide, 'chain'> = {
        source,
        records: loaded.records,
        ...(loaded.firstMs === undefined ? {} : { first_time: new Date(loaded.firstMs).toISOString() }),
        ...(loaded.lastMs === undefined ? {} : { last_time: new Date(loaded.lastMs).toISOString() }),
        matched_requests: matchedRequests,
        matched_replies: matchedReplies,
        replies_by_correlation: repliesByCorrelation,
        replies_by_correlation_limit: rules.maxRepliesByCorrelation,
        records_expected: recordsExpected,
        messages_judged: messagesJudged,
        refusals: this.#refusals(),
      };
      return { side, byType: this.#byType(), duplicates, unreadable: loaded.unreadable };
    });
  }

  /**
   * Fills table `tied` with the judged replies no record names by digest that their correlation
   * id ties to a captured, recorded request sent before them: the first `limit` of each
   * correlation id, in capture order. Returns how many.
   */
  #tieByCorrelation(judgedUntil: number, limit: number): number {
    this.#db.exec('CREATE TABLE tied (seq INTEGER PRIMARY KEY)');
    this.#db.prepare(`
      INSERT INTO tied (seq) SELECT seq FROM (
        SELECT c.seq, row_number() OVER (PARTITION BY c.correlation ORDER BY c.seq) AS n FROM captured c
        WHERE c.kind = 1 AND c.time_ms <= ? AND NOT EXISTS (SELECT 1 FROM records r WHERE r.rep = c.digest) AND ${TIED_TO_A_CAPTURED_REQUEST}
      ) WHERE n <= ?`).run(judgedUntil, limit);
    return (this.#db.prepare('SELECT count(*) FROM tied').pluck().get() as number | null) ?? 0;
  }

  /** Reports the records of the window whose request or reply was never captured; returns the records in the window. */
  #reportUnseen(capture: { firstMs: number; lastMs: number }, window: MatchWindow, report: (anomaly: Anomaly) => void): number {
    const from = capture.firstMs + window.leadMs;
    const to = capture.lastMs + window.tailMs;
    const inWindow = (this.#db.prepare('SELECT count(*) FROM records WHERE received_ms >= ? AND time_ms <= ?').pluck().get(from, to) as number | null) ?? 0;
    const unseen = this.#db.prepare(`
      SELECT id, req, rep, time_ms, request_id, provider,
        EXISTS (SELECT 1 FROM captured c WHERE c.kind = 0 AND c.digest = r.req) AS has_req,
        (r.rep IS NULL OR EXISTS (SELECT 1 FROM captured c WHERE c.kind = 1 AND c.digest = r.rep)) AS has_rep
      FROM records r WHERE received_ms >= ? AND time_ms <= ? AND (has_req = 0 OR has_rep = 0) ORDER BY id`);
    type UnseenRow = { req: Buffer; rep: Buffer | null; time_ms: number; request_id: string | null; provider: string; has_req: number; has_rep: number };
    for (const row of unseen.iterate(from, to) as IterableIterator<UnseenRow>) {
      const missing = row.has_req === 0 && row.has_rep === 0 ? 'request and reply were' : row.has_req === 0 ? 'request was' : 'reply was';
      report({
        kind: 'unseen_message',
        time: new Date(row.time_ms).toISOString(),
        body_sha256: (row.has_req === 0 ? row.req : (row.rep as Buffer)).toString('hex'),
        ...(row.request_id === null ? {} : { request_id: row.request_id }),
        detail: `an audit record of provider ${row.provider} whose ${missing} never captured`,
      });
    }
    return inWindow;
  }

  /** Records of captured requests, by provider and type. */
  #byType(): Map<string, Map<string, number>> {
    const rows = this.#db.prepare(`
      SELECT provider, coalesce(type, 'unknown') AS type, count(*) AS n FROM records r
      WHERE EXISTS (SELECT 1 FROM captured c WHERE c.kind = 0 AND c.digest = r.req) GROUP BY 1, 2 ORDER BY 1, 2`).all() as { provider: string; type: string; n: number }[];
    const out = new Map<string, Map<string, number>>();
    for (const row of rows) {
      const types = out.get(row.provider) ?? new Map<string, number>();
      types.set(row.type, row.n);
      out.set(row.provider, types);
    }
    return out;
  }

  /** Refused and dead-lettered requests among the captured ones, by outcome code. */
  #refusals(): { code: string; count: number }[] {
    const statuses = [...REFUSED_STATUSES].map((s) => `'${s}'`).join(', ');
    return this.#db.prepare(`
      SELECT coalesce(code, status) AS code, count(*) AS count FROM records r
      WHERE status IN (${statuses}) AND EXISTS (SELECT 1 FROM captured c WHERE c.kind = 0 AND c.digest = r.req)
      GROUP BY 1 ORDER BY 2 DESC, 1`).all() as { code: string; count: number }[];
  }

  #run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof AuditError) throw error;
      throw new AuditError('AUDIT_BAD_OPTION', `the matching database in ${this.#dir} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Closes and deletes the database. */
  close(): void {
    try {
      this.#db.close();
    } finally {
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }
}

function parseRecord(content: string): z.output<typeof recordFields> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  const parsed = recordFields.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
