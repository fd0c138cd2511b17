/**
 * The STOMP 1.0 / 1.1 / 1.2 frame codec: an incremental parser over Buffers and a serializer.
 *
 * Both the embedded broker and tests use it, so it depends on nothing of ours but the error
 * base. The parser is the broker's hot path: it scans with `indexOf` on Buffers, decodes each
 * header line once, and never concatenates strings byte by byte. Limits are checked while
 * bytes arrive, so a hostile peer cannot make it buffer more than `maxFrameSize` (+ one chunk).
 */
import { PaygateError } from '../errors.ts';

/** Protocol versions we speak. Escaping rules differ per version. */
export type StompVersion = '1.0' | '1.1' | '1.2';

/** Header names to values; the first occurrence of a repeated header wins (STOMP 1.2 §"Repeated Header Entries"). */
export type StompHeaders = Record<string, string>;

/** One decoded frame. `body` is a private copy, safe to keep after the chunk is gone. */
export interface Frame {
  readonly command: string;
  readonly headers: StompHeaders;
  /**
   * Every header line as received, in order, repeats kept (unescaped): what an auditor's capture
   * records. Set by {@link FrameParser}; `headers` is what the protocol acts on.
   */
  readonly headerList?: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** Stable codes of frame-level failures; each one is fatal for the connection that sent it. */
export const FRAME_ERROR_CODES = [
  /** A frame (headers plus body) exceeds `maxFrameSize`, or its `content-length` does. */
  'STOMP_FRAME_TOO_LARGE',
  /** More header lines than `maxHeaders`. */
  'STOMP_TOO_MANY_HEADERS',
  /** One header line (or the command line) exceeds `maxHeaderLength`. */
  'STOMP_HEADER_TOO_LONG',
  /** A backslash sequence the negotiated version does not define (e.g. `\t`). */
  'STOMP_BAD_ESCAPE',
  /** The command line names no command the reader knows (checked as soon as the line is complete). */
  'STOMP_UNKNOWN_COMMAND',
  /** Anything else that is not a frame: no colon in a header line, bad `content-length`, no NUL after the body. */
  'STOMP_MALFORMED_FRAME',
] as const;

export type FrameErrorCode = (typeof FRAME_ERROR_CODES)[number];

/** A frame that cannot be accepted. The parser is unusable afterwards: close the connection. */
export class FrameError extends PaygateError {
  declare readonly code: FrameErrorCode;

  constructor(code: FrameErrorCode, message: string) {
    super(code, message);
  }
}

/** Bounds on what one frame may hold. */
export interface FrameLimits {
  /** Bytes from the command's first byte to the terminating NUL. */
  readonly maxFrameSize: number;
  /** Header lines per frame. */
  readonly maxHeaders: number;
  /** Bytes per header line (and for the command line), EOL excluded. */
  readonly maxHeaderLength: number;
}

/** What a broker accepts from clients (STOMP 1.2 §Client Frames). */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT',
]);

/** What a client accepts from brokers. */
export const SERVER_COMMANDS: ReadonlySet<string> = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameSize: 4 * 1024 * 1024, maxHeaders: 100, maxHeaderLength: 10 * 1024 };

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const EMPTY = Buffer.alloc(0);

/** CONNECT, STOMP and CONNECTED carry raw header octets in every version (1.2 §"Value Encoding"). */
const isRawCommand = (command: string): boolean => command === 'CONNECT' || command === 'CONNECTED' || command === 'STOMP';

const UNESCAPE_11: Readonly<Record<string, string>> = { '\\': '\\', n: '\n', c: ':' };
const UNESCAPE_12: Readonly<Record<string, string>> = { '\\': '\\', n: '\n', c: ':', r: '\r' };

/** Undo header escaping; any sequence the version does not define is a fatal error (1.2 spec). */
export function unescapeHeader(value: string, version: StompVersion): string {
  if (version === '1.0' || !value.includes('\\')) return value;
  const table = version === '1.1' ? UNESCAPE_11 : UNESCAPE_12;
  return value.replace(/\\(.?)/gs, (_, ch: string) => {
    const out = table[ch];
    if (out === undefined) throw new FrameError('STOMP_BAD_ESCAPE', `undefined escape sequence in a STOMP ${version} header`);
    return out;
  });
}

const NEEDS_ESCAPE_11 = /[\\\n:]/;
const NEEDS_ESCAPE_12 = /[\\\n\r:]/;
const ESCAPE_TABLE: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c' };

/** Escape a header name or value for `version` (1.1 has no `\r` escape, 1.0 none at all). */
export function escapeHeader(value: string, version: StompVersion): string {
  if (version === '1.0') return value;
  const needs = version === '1.1' ? NEEDS_ESCAPE_11 : NEEDS_ESCAPE_12;
  if (!needs.test(value)) return value;
  return value.replace(version === '1.1' ? /[\\\n:]/g : /[\\\n\r:]/g, (ch) => ESCAPE_TABLE[ch] ?? ch);
}

/**
 * Where no escaping exists (STOMP 1.0, CONNECT/CONNECTED), a CR or LF would end the header line
 * early and let a header value inject headers: they become spaces.
 */
const rawOctets = (value: string): string => (/[\r\n]/.test(value) ? value.replace(/[\r\n]/g, ' ') : value);

/**
 * Serialize one frame. A non-empty body always gets a `content-length` in bytes (any given one is
 * replaced), so NULs in binary bodies are safe and the peer never scans for the end.
 */
export function encodeFrame(command: string, headers: StompHeaders, body: Buffer | string = EMPTY, version: StompVersion = '1.2'): Buffer {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const raw = isRawCommand(command) || version === '1.0';
  let head = command + '\n';
  for (const name in headers) {
    if (name === 'content-length') continue;
    const value = headers[name] as string;
    head += raw ? `${rawOctets(name)}:${rawOctets(value)}\n` : `${escapeHeader(name, version)}:${escapeHeader(value, version)}\n`;
  }
  if (bodyBytes.length > 0) head += `content-length:${bodyBytes.length}\n`;
  head += '\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + bodyBytes.length + 1);
  out.write(head, 0, 'utf8');
  bodyBytes.copy(out, headLength);
  out[out.length - 1] = NUL;
  return out;
}

/** Where the parser is inside the current frame. */
const enum Stage {
  /** Skipping heart-beat EOLs, then reading the command line. */
  Command,
  Headers,
  Body,
}

/**
 * Incremental STOMP parser. Feed it socket chunks with {@link FrameParser.push}; it calls back once
 * per complete frame, synchronously and in order, so a callback may change {@link version} (after
 * CONNECT) before the next frame in the same chunk is decoded.
 */
export class FrameParser {
  /** Header escaping rules for every frame but CONNECT/STOMP/CONNECTED; set after negotiation. */
  version: StompVersion = '1.2';
  /** Set by the owner to stop decoding the rest of a chunk (e.g. after it sent ERROR). */
  stopped = false;

  readonly #limits: FrameLimits;
  #buf: Buffer = EMPTY;
  #pos = 0;
  #stage = Stage.Command;
  #frameStart = 0;
  #command = '';
  #headers: StompHeaders = {};
  #headerCount = 0;
  #headerList: [string, string][] = [];
  #bodyLength = -1;
  #scanFrom = 0;
  /** Chunks of a body that is not complete yet, kept aside uncopied: one concat per frame, not per chunk. */
  #stash: Buffer[] = [];
  #stashed = 0;

  readonly #commands: ReadonlySet<string> | undefined;

  /**
   * @param commands when given, any other command line fails at once with `STOMP_UNKNOWN_COMMAND`,
   *   so garbage is refused after its first line instead of after `maxFrameSize` bytes.
   */
  constructor(limits: Partial<FrameLimits> = {}, commands?: ReadonlySet<string>) {
    this.#limits = { ...DEFAULT_FRAME_LIMITS, ...limits };
    this.#commands = commands;
  }

  /** Bytes held for an incomplete frame (what a slow sender costs us). */
  get buffered(): number {
    return this.#buf.length - this.#pos + this.#stashed;
  }

  /** True when bytes of an unfinished frame are held (used to detect a frame cut by a close). */
  get midFrame(): boolean {
    return this.#stage !== Stage.Command || this.#pos < this.#buf.length;
  }

  /** Decode what `chunk` completes; throws {@link FrameError} on the first bad frame. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (this.stopped || this.#waitsForMore(chunk)) return;
    this.#append(chunk);
    while (!this.stopped) {
      const frame = this.#step();
      if (frame === undefined) break;
      onFrame(frame);
    }
    if (this.#pos === this.#buf.length) this.#reset(EMPTY);
  }

  /**
   * Inside a body that `chunk` does not complete, set the chunk aside instead of concatenating:
   * a large body arriving in many chunks is then copied once, not once per chunk.
   */
  #waitsForMore(chunk: Buffer): boolean {
    if (this.#stage !== Stage.Body) return false;
    const available = this.#buf.length + this.#stashed + chunk.length;
    if (this.#bodyLength >= 0) {
      if (available > this.#pos + this.#bodyLength) return false; // the NUL's position has arrived
    } else {
      if (chunk.indexOf(NUL) !== -1) return false;
      this.#checkFrameSize(available);
    }
    this.#stash.push(chunk);
    this.#stashed += chunk.length;
    return true;
  }

  #append(chunk: Buffer): void {
    if (this.#stashed === 0 && this.#pos === this.#buf.length) return this.#reset(chunk);
    // Keep only the unconsumed tail; offsets into the frame move with it.
    const shift = this.#pos;
    this.#buf = Buffer.concat([this.#buf.subarray(shift), ...this.#stash, chunk]);
    this.#pos = 0;
    this.#frameStart -= shift;
    this.#scanFrom += this.#stashed - shift; // stashed chunks were scanned: they hold no NUL
    this.#stash = [];
    this.#stashed = 0;
  }

  #reset(buf: Buffer): void {
    const shift = this.#pos;
    this.#buf = buf;
    this.#pos = 0;
    this.#frameStart -= shift;
    this.#scanFrom -= shift;
  }

  /** Advance as far as the bytes allow; a frame when one completes. */
  #step(): Frame | undefined {
    if (this.#stage === Stage.Command && !this.#readCommand()) return undefined;
    while (this.#stage === Stage.Headers) if (!this.#readHeader()) return undefined;
    return this.#readBody();
  }

  /** The next line, without its EOL, or undefined while incomplete. */
  #line(): string | undefined {
    const buf = this.#buf;
    const lf = buf.indexOf(LF, this.#pos);
    if (lf === -1) {
      if (buf.length - this.#pos > this.#limits.maxHeaderLength) throw this.#tooLong();
      this.#checkFrameSize(buf.length);
      return undefined;
    }
    const end = lf > this.#pos && buf[lf - 1] === CR ? lf - 1 : lf;
    if (end - this.#pos > this.#limits.maxHeaderLength) throw this.#tooLong();
    const line = buf.toString('utf8', this.#pos, end);
    this.#pos = lf + 1;
    this.#checkFrameSize(this.#pos);
    return line;
  }

  #readCommand(): boolean {
    const buf = this.#buf;
    while (this.#pos < buf.length && (buf[this.#pos] === LF || buf[this.#pos] === CR)) this.#pos++; // heart-beats
    if (this.#pos === buf.length) return false;
    this.#frameStart = this.#pos;
    const command = this.#line();
    if (command === undefined) return false;
    if (this.#commands !== undefined && !this.#commands.has(command)) {
      // Name it only when it looks like a command: error messages never echo arbitrary input.
      const shown = /^[A-Z]{1,20}$/.test(command) ? ` ${command}` : '';
      throw new FrameError('STOMP_UNKNOWN_COMMAND', `unknown command${shown}`);
    }
    this.#command = command;
    this.#headers = Object.create(null) as StompHeaders; // no prototype: a header may be called `constructor`
    this.#headerCount = 0;
    this.#headerList = [];
    this.#bodyLength = -1;
    this.#stage = Stage.Headers;
    return true;
  }

  #readHeader(): boolean {
    const line = this.#line();
    if (line === undefined) return false;
    if (line === '') {
      this.#stage = Stage.Body;
      this.#scanFrom = this.#pos;
      return true;
    }
    if (++this.#headerCount > this.#limits.maxHeaders) {
      throw new FrameError('STOMP_TOO_MANY_HEADERS', `more than ${this.#limits.maxHeaders} headers in one frame`);
    }
    const colon = line.indexOf(':');
    if (colon === -1) throw new FrameError('STOMP_MALFORMED_FRAME', 'a header line has no colon');
    const raw = isRawCommand(this.#command);
    const name = raw ? line.slice(0, colon) : unescapeHeader(line.slice(0, colon), this.version);
    const value = raw ? line.slice(colon + 1) : unescapeHeader(line.slice(colon + 1), this.version);
    this.#headerList.push([name, value]);
    if (this.#headers[name] !== undefined) return true; // the first occurrence wins
    if (name === 'content-length') this.#bodyLength = this.#contentLength(value);
    this.#headers[name] = value;
    return true;
  }

  #contentLength(value: string): number {
    const length = /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isNaN(length)) throw new FrameError('STOMP_MALFORMED_FRAME', 'content-length is not a byte count');
    if (length > this.#limits.maxFrameSize) throw this.#tooLarge();
    return length;
  }

  #readBody(): Frame | undefined {
    const buf = this.#buf;
    const start = this.#pos;
    let end: number;
    if (this.#bodyLength >= 0) {
      end = start + this.#bodyLength;
      this.#checkFrameSize(end + 1);
      if (buf.length <= end) return undefined;
      if (buf[end] !== NUL) throw new FrameError('STOMP_MALFORMED_FRAME', 'no NUL octet after content-length bytes');
    } else {
      end = buf.indexOf(NUL, this.#scanFrom);
      if (end === -1) {
        this.#scanFrom = buf.length;
        this.#checkFrameSize(buf.length);
        return undefined;
      }
      this.#checkFrameSize(end + 1);
    }
    const body = end === start ? EMPTY : Buffer.from(buf.subarray(start, end)); // copy: chunks must not be pinned
    this.#pos = end + 1;
    this.#stage = Stage.Command;
    return { command: this.#command, headers: this.#headers, headerList: this.#headerList, body };
  }

  #checkFrameSize(upTo: number): void {
    if (upTo - this.#frameStart > this.#limits.maxFrameSize) throw this.#tooLarge();
  }

  #tooLarge(): FrameError {
    return new FrameError('STOMP_FRAME_TOO_LARGE', `frame larger than ${this.#limits.maxFrameSize} bytes`);
  }

  #tooLong(): FrameError {
    return new FrameError('STOMP_HEADER_TOO_LONG', `header line longer than ${this.#limits.maxHeaderLength} bytes`);
  }
}

