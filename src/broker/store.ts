/**
 * The persistence store: one SQLite database (better-sqlite3, WAL) holding every persistent
 * message that sits on a durable queue, until it is acknowledged.
 *
 * Fsync policy: `journal_mode=WAL` with `synchronous=FULL`, so each commit fsyncs the WAL before
 * it returns. Writes are grouped: every insert/delete/update issued during one turn of the event
 * loop goes into one transaction, committed on `setImmediate` (group commit: one fsync for many
 * messages). A RECEIPT that follows a store write waits (see {@link MessageStore.afterCommit})
 * until that commit returned, so a receipt for a persistent SEND means the message is on disk.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { BrokerError } from './errors.ts';
import { userHeaders } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { StompHeaders } from '../stomp/frame.ts';

/** Bytes the WAL is truncated to after a checkpoint (SQLite `journal_size_limit`). */
const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

/** A message read back at start-up, with the queue it belongs to. */
export interface StoredMessage {
  readonly queue: string;
  readonly message: BrokerMessage;
}

type Operation = () => void;

interface Row {
  seq: number;
  id: string;
  queue: string;
  destination: string;
  headers: string;
  body: Buffer;
  expires: number;
  deliveries: number;
  failures: number;
}

export class MessageStore {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement;
  readonly #delete: Statement;
  readonly #counts: Statement;
  readonly #move: Statement;
  #pending: Operation[] = [];
  #waiting: Array<(error?: Error) => void> = [];
  #scheduled = false;
  #onError: (error: BrokerError) => void;

  private constructor(db: SqliteDatabase, onError: (error: BrokerError) => void) {
    this.#db = db;
    this.#onError = onError;
    db.exec(`CREATE TABLE IF NOT EXISTS messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, queue TEXT NOT NULL, destination TEXT NOT NULL,
      headers TEXT NOT NULL, body BLOB NOT NULL, expires INTEGER NOT NULL, deliveries INTEGER NOT NULL)`);
    // Failed deliveries (NACKs) are counted apart from deliveries; files of older brokers get the column.
    const columns = db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string }>;
    if (!columns.some((column) => column.name === 'failures')) db.exec('ALTER TABLE messages ADD COLUMN failures INTEGER NOT NULL DEFAULT 0');
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO messages (seq, id, queue, destination, headers, body, expires, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#delete = db.prepare('DELETE FROM messages WHERE seq = ?');
    this.#counts = db.prepare('UPDATE messages SET deliveries = ?, failures = ? WHERE seq = ?');
    // A dead letter never expires (queue.ts): its row says so too, or a restart would drop it.
    this.#move = db.prepare('UPDATE messages SET queue = ?, destination = ?, deliveries = 0, failures = 0, expires = 0 WHERE seq = ?');
  }

  /** Open (or create) `<dataDir>/broker.sqlite`. */
  static open(dataDir: string, onError: (error: BrokerError) => void): MessageStore {
    try {
      mkdirSync(dataDir, { recursive: true });
      // No busy wait: this process is the file's only writer, so a lock held by anyone else is a
      // fault to report at once (BROKER_STORE_FAILED), not a reason to block the event loop.
      const db = new Database(join(dataDir, 'broker.sqlite'), { timeout: 0 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // An acknowledged message is gone from the file, not just unlinked: its bytes are zeroed
      // (a body sent in clear by mistake must not outlive its delivery), and the WAL, which
      // keeps old page images until it is rewritten, is cut back after each checkpoint.
      db.pragma('secure_delete = ON');
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      return new MessageStore(db, onError);
    } catch (error) {
      throw new BrokerError('BROKER_STORE_FAILED', `cannot open the message store in ${dataDir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Every stored message, oldest first, and the highest seq used so far. */
  load(): { messages: StoredMessage[]; maxSeq: number } {
    let rows: Row[];
    try {
      rows = this.#db.prepare('SELECT * FROM messages ORDER BY seq').all() as Row[];
    } catch (error) {
      this.#db.close();
      throw new BrokerError('BROKER_STORE_FAILED', `cannot read the message store: ${(error as Error).message}`, { cause: error });
    }
    const messages = rows.map((row) => ({
      queue: row.queue,
      message: {
        id: row.id,
        seq: row.seq,
        destination: row.destination,
        // Filtered again: rows written before a header became broker-owned must not carry it out.
        headers: userHeaders(JSON.parse(row.headers) as StompHeaders),
        body: row.body,
        persistent: true,
        expires: row.expires,
        deliveries: row.deliveries,
        failures: row.failures,
        stored: true,
      },
    }));
    const last = rows.at(-1);
    return { messages, maxSeq: last === undefined ? 0 : last.seq };
  }

  insert(message: BrokerMessage, queue: string): void {
    const { seq, id, destination, headers, body, expires, deliveries } = message;
    this.#queue(() => this.#insert.run(seq, id, queue, destination, JSON.stringify(headers), body, expires, deliveries));
  }

  remove(message: BrokerMessage): void {
    const { seq } = message;
    this.#queue(() => this.#delete.run(seq));
  }

  /** Store the delivery and failure counts (at each hand-out and each NACK). */
  updateCounts(message: BrokerMessage): void {
    const { seq, deliveries, failures } = message;
    this.#queue(() => this.#counts.run(deliveries, failures, seq));
  }

  move(message: BrokerMessage, queue: string): void {
    const { seq } = message;
    this.#queue(() => this.#move.run(queue, queue, seq));
  }

  /** Run `callback` once everything queued so far is committed (now, when nothing is pending). */
  afterCommit(callback: (error?: Error) => void): void {
    if (this.#pending.length === 0 && this.#waiting.length === 0) callback();
    else this.#waiting.push(callback);
  }

  /** Commit what is pending now (also used on stop). */
  flush(): void {
    this.#scheduled = false;
    const ops = this.#pending;
    const waiting = this.#waiting;
    this.#pending = [];
    this.#waiting = [];
    let failure: BrokerError | undefined;
    try {
      if (ops.length > 0) this.#db.transaction(() => ops.forEach((op) => op()))();
    } catch (error) {
      failure = new BrokerError('BROKER_STORE_FAILED', `store commit failed: ${(error as Error).message}`, { cause: error });
      this.#onError(failure);
    }
    for (const callback of waiting) callback(failure);
  }

  close(): void {
    this.flush();
    this.#db.close();
  }

  #queue(op: Operation): void {
    this.#pending.push(op);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }
}
