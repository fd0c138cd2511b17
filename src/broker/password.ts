/**
 * Password hashes of the users file: PHC strings of scrypt,
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (salt and hash in base64 without padding). The cost
 * parameters travel in the string, so a file may mix costs (tests write cheap `ln=10` hashes).
 *
 * scrypt runs on libuv's thread pool (the async `scrypt`), so a CONNECT flood cannot block the
 * event loop; {@link PasswordChecker} also bounds how many run at once and caches successes.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';
import { BrokerError, BrokerLimitError } from './errors.ts';

/** scrypt cost parameters: N = 2^ln, block size r, parallelism p. */
export interface ScryptCost {
  /** log2 of N, the CPU/memory cost (default 15: 32 MiB and about 50-100 ms per check). */
  readonly ln?: number;
  /** Block size (default 8). */
  readonly r?: number;
  /** Parallelism (default 1). */
  readonly p?: number;
}

/** A parsed PHC string. */
export interface ScryptHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

export const DEFAULT_SCRYPT_COST = { ln: 15, r: 8, p: 1 } as const;
/** Bounds that keep one check below 256 MiB of memory, whatever a users file says. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{22,88})$/;

/** Why `value` is not an acceptable scrypt PHC string, or undefined when it is. */
export function phcProblem(value: string): string | undefined {
  const match = PHC.exec(value);
  if (match === null) return 'expected "$scrypt$ln=<n>,r=<n>,p=<n>$<salt>$<hash>" (make one with: paygate broker hash-password)';
  return costProblem({ ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) });
}

function costProblem({ ln, r, p }: Required<ScryptCost>): string | undefined {
  if (!Number.isInteger(ln) || ln < 1 || ln > 20) return 'ln must be 1-20';
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'r must be 1-32';
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'p must be 1-16';
  if (memoryOf({ ln, r }) > MAX_SCRYPT_MEMORY) return `2^ln * r * 128 bytes must stay within ${MAX_SCRYPT_MEMORY / 1024 / 1024} MiB`;
  return undefined;
}

const memoryOf = ({ ln, r }: { ln: number; r: number }): number => 128 * 2 ** ln * r;

/** Parse a PHC string; a malformed one is `BROKER_BAD_OPTION`. */
export function parsePhc(value: string): ScryptHash {
  const problem = phcProblem(value);
  const match = PHC.exec(value);
  if (problem !== undefined || match === null) throw new BrokerError('BROKER_BAD_OPTION', `password hash: ${problem ?? 'malformed'}`);
  return {
    ln: Number(match[1]),
    r: Number(match[2]),
    p: Number(match[3]),
    salt: Buffer.from(match[4] as string, 'base64'),
    hash: Buffer.from(match[5] as string, 'base64'),
  };
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

function derive(password: string, salt: Buffer, length: number, { ln, r, p }: Required<ScryptCost>): Promise<Buffer> {
  // maxmem above the need: node's default (32 MiB) refuses ln=15,r=8 by a few bytes of overhead.
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: memoryOf({ ln, r }) * 2 + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * Hash `password` for the users file (what `paygate broker hash-password` prints).
 *
 * @param options cost; default ln=15, r=8, p=1 (about 32 MiB and tens of ms per login).
 */
export async function hashPassword(password: string, options: ScryptCost = {}): Promise<string> {
  const cost = { ...DEFAULT_SCRYPT_COST, ...options };
  const problem = costProblem(cost);
  if (problem !== undefined) throw new BrokerError('BROKER_BAD_OPTION', `scrypt cost: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

/**
 * True when `password` matches the PHC string (constant-time comparison of the derived key).
 * A malformed PHC string is `BROKER_BAD_OPTION`, never a silent false.
 */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  return verifyParsed(parsePhc(phc), password);
}

async function verifyParsed(stored: ScryptHash, password: string): Promise<boolean> {
  const derived = await derive(password, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(derived, stored.hash);
}

/** How many scrypt checks may run at once: the thread pool has 4 threads, other work needs some. */
const CONCURRENT_CHECKS = 2;
/** Logins waiting for a check beyond which new ones are refused at once (a flood must not queue without bound). */
const MAX_WAITING = 256;
/** Successful checks remembered, so a reconnect storm of legitimate clients costs no scrypt. */
const CACHE_SIZE = 1024;

/**
 * Checks passwords for CONNECT: at most {@link CONCURRENT_CHECKS} scrypt runs at once, a bounded
 * waiting line, and a cache of recent successes keyed by an HMAC (under a key that never leaves
 * this process) of the login, the stored hash and the password, so no password is kept in memory.
 */
export class PasswordChecker {
  readonly #cacheKey = randomBytes(32);
  readonly #cache = new Map<string, true>();
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  /**
   * True when `password` matches; `stored` undefined (unknown login) still runs scrypt with
   * `decoy`'s cost, so the time taken does not say whether the login exists.
   * Rejects with `BROKER_LIMIT` when too many checks are already waiting.
   */
  async check(login: string, stored: ScryptHash | undefined, decoy: ScryptHash, password: string): Promise<boolean> {
    const key = stored === undefined ? undefined : this.#keyOf(login, stored, password);
    if (key !== undefined && this.#cache.has(key)) return true;
    await this.#acquire();
    try {
      const ok = await verifyParsed(stored ?? decoy, password);
      if (ok && stored !== undefined && key !== undefined) this.#remember(key);
      return ok && stored !== undefined;
    } finally {
      this.#release();
    }
  }

  #keyOf(login: string, stored: ScryptHash, password: string): string {
    return createHmac('sha256', this.#cacheKey)
      .update(JSON.stringify([login, b64(stored.salt), b64(stored.hash), stored.ln, stored.r, stored.p, password]))
      .digest('base64');
  }

  #remember(key: string): void {
    this.#cache.delete(key);
    this.#cache.set(key, true);
    if (this.#cache.size > CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
  }

  #acquire(): Promise<void> {
    if (this.#running < CONCURRENT_CHECKS) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= MAX_WAITING) {
      return Promise.reject(new BrokerLimitError('loginQueue', 'too many logins being checked; retry later'));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#running--;
    else next(); // the slot passes straight to the next waiter
  }
}

/** A PHC-shaped hash that matches no password, for unknown logins (same cost as `like`). */
export function decoyHash(like: ScryptHash): ScryptHash {
  return { ...like, salt: randomBytes(like.salt.length), hash: randomBytes(like.hash.length) };
}
