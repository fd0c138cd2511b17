/**
 * Authentication and authorization of the embedded broker (docs/broker.md#access-control).
 *
 * Decisions rest only on the broker's own state: the login proven at CONNECT, its rights from the
 * users configuration, and the connection that owns a temporary queue. Rights are checked before
 * existence, so a refusal says nothing about whether a destination exists.
 */
import { BrokerError } from './errors.ts';
import { decoyHash, parsePhc, PasswordChecker } from './password.ts';
import type { ScryptHash } from './password.ts';
import { PatternSet } from './patterns.ts';
import { REMOTE_TEMP_QUEUE_PREFIX, TEMP_QUEUE_PREFIX } from './temp-queues.ts';
import { rightsOf } from './users.ts';
import type { ResolvedUsersConfig } from './users.ts';

/** Who a connection is, once CONNECT succeeded. */
export interface Principal {
  /** The proven login; without a users configuration, whatever the client said (maybe empty). */
  readonly login: string;
  /** No users configuration: everything is allowed (development only; loopback only). */
  readonly unrestricted: boolean;
  readonly read: PatternSet;
  readonly write: PatternSet;
  readonly reply: boolean;
}

interface Account {
  readonly hash: ScryptHash;
  readonly principal: Principal;
}

const NOTHING = new PatternSet([]);
/** Longest destination quoted in an ERROR message. */
const QUOTED_MAX = 200;

export class AccessControl {
  readonly #accounts = new Map<string, Account>();
  readonly #checker = new PasswordChecker();
  readonly #decoy: ScryptHash | undefined;

  /** @param config the users; undefined = no authentication, everything allowed. */
  constructor(config: ResolvedUsersConfig | undefined) {
    if (config === undefined) return;
    for (const [login, user] of Object.entries(config.users)) {
      const rights = rightsOf(user, config.prefix);
      this.#accounts.set(login, {
        hash: parsePhc(user.password),
        principal: { login, unrestricted: false, read: new PatternSet(rights.read), write: new PatternSet(rights.write), reply: rights.reply },
      });
    }
    const first = this.#accounts.values().next().value;
    this.#decoy = first === undefined ? undefined : decoyHash(first.hash);
  }

  /** True when CONNECT must prove a login. */
  get required(): boolean {
    return this.#decoy !== undefined;
  }

  /** A connection before CONNECT succeeded: no right at all (only CONNECT is handled then anyway). */
  static nobody(): Principal {
    return { login: '', unrestricted: false, read: NOTHING, write: NOTHING, reply: false };
  }

  /** The principal of a connection when no users are configured. */
  static anyone(login: string | undefined): Principal {
    return { login: login ?? '', unrestricted: true, read: NOTHING, write: NOTHING, reply: true };
  }

  /**
   * The principal for `login`/`passcode`, or undefined when they do not match (an absent login or
   * passcode never matches). Rejects with `BROKER_LIMIT` when too many logins are being checked.
   */
  async authenticate(login: string | undefined, passcode: string | undefined): Promise<Principal | undefined> {
    const decoy = this.#decoy;
    if (decoy === undefined) return AccessControl.anyone(login);
    if (login === undefined || passcode === undefined) return undefined;
    const account = this.#accounts.get(login);
    const ok = await this.#checker.check(login, account?.hash, decoy, passcode);
    return ok ? account?.principal : undefined;
  }

  /**
   * Throw `BROKER_FORBIDDEN` unless `principal` may `action` on `destination` from connection
   * `session`. Destinations of no known kind pass here; the router refuses them.
   */
  static authorize(principal: Principal, action: 'SEND' | 'SUBSCRIBE', destination: string, session: string): void {
    if (!allowed(principal, action, destination, session)) {
      const quoted = destination.length > QUOTED_MAX ? `${destination.slice(0, QUOTED_MAX)}…` : destination;
      const who = principal.login === '' ? 'an anonymous client' : `login ${principal.login}`;
      throw new BrokerError('BROKER_FORBIDDEN', `forbidden: ${who} may not ${action} to ${quoted}`);
    }
  }
}

function allowed(principal: Principal, action: 'SEND' | 'SUBSCRIBE', destination: string, session: string): boolean {
  // Every connection reads and writes its own temporary queues, whatever its rights.
  if (destination.startsWith(TEMP_QUEUE_PREFIX)) return true;
  if (destination.startsWith(REMOTE_TEMP_QUEUE_PREFIX)) {
    if (destination.startsWith(`${REMOTE_TEMP_QUEUE_PREFIX}${session}.`)) return true;
    // Only the owner ever reads a temp queue; answering into one needs the reply right.
    return action === 'SEND' && (principal.unrestricted || principal.reply);
  }
  if (principal.unrestricted) return true;
  if (!destination.startsWith('/queue/') && !destination.startsWith('/topic/')) return true;
  return (action === 'SEND' ? principal.write : principal.read).matches(destination);
}
