/**
 * The users file of `paygate broker --users FILE` (docs/broker.md#users-file): YAML, one entry
 * per login with a scrypt PHC password hash, a built-in role and/or extra rights.
 *
 * ```yaml
 * prefix: paygate.          # the built-in roles' queue prefix (default)
 * users:
 *   shop-1: { password: "$scrypt$ln=15,r=8,p=1$…$…", role: storefront }
 *   tools:  { password: "$scrypt$…", read: ["/queue/tools.>"], write: ["/queue/tools.>"] }
 * ```
 */
import { parse, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { BrokerError } from './errors.ts';
import { phcProblem } from './password.ts';
import { patternProblem } from './patterns.ts';

/** The built-in roles; their rights are in {@link roleRights}. */
export const BROKER_ROLES = ['storefront', 'worker', 'operator', 'audit', 'feed'] as const;
export type BrokerRole = (typeof BROKER_ROLES)[number];

export const DEFAULT_QUEUE_PREFIX = 'paygate.';

/**
 * The events queues' name segment: events queues are `/queue/<prefix>feed.<name>` (default
 * `feed.events`), one segment more than a request queue, so no storefront right covers them.
 */
export const EVENTS_QUEUE_SEGMENT = 'feed.';

/** What one login may do: destination patterns it may SUBSCRIBE to (read) and SEND to (write). */
export interface Rights {
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** May SEND into other connections' temporary queues (`/remote-temp-queue/…`): answer requests. */
  readonly reply: boolean;
}

/**
 * The rights of a built-in role, P being the prefix. Least privilege: each role gets what its
 * job needs (docs/broker.md has the table and the reasons).
 */
export function roleRights(role: BrokerRole, prefix: string): Rights {
  const q = `/queue/${prefix}`;
  switch (role) {
    case 'storefront':
      return { read: [], write: [`${q}*`], reply: false };
    case 'worker':
      // The events queues too: a worker SENDs each request's audit record there (never reads it).
      return { read: [`${q}*`], write: [`${q}*.dlq`, `${q}${EVENTS_QUEUE_SEGMENT}*`], reply: true };
    case 'operator':
      return { read: [`${q}>`], write: [`${q}>`], reply: false };
    case 'audit':
      return { read: [`/topic/${prefix}>`], write: [], reply: false };
    case 'feed':
      // `paygate feed`'s events consumer: takes the events off their queue, dead-letters a refused one.
      return { read: [`${q}${EVENTS_QUEUE_SEGMENT}*`], write: [`${q}${EVENTS_QUEUE_SEGMENT}*.dlq`], reply: false };
  }
}

const pattern = z.string().superRefine((value, ctx) => {
  const problem = patternProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${problem}` });
});

const passwordHash = z.string().superRefine((value, ctx) => {
  const problem = phcProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const userSchema = z
  .object({
    /** scrypt PHC string (`paygate broker hash-password`). */
    password: passwordHash,
    role: z.enum(BROKER_ROLES).optional(),
    /** Extra SUBSCRIBE rights, on top of the role's. */
    read: z.array(pattern).default([]),
    /** Extra SEND rights, on top of the role's. */
    write: z.array(pattern).default([]),
    /** Overrides the role's reply right (only `worker` has it). */
    reply: z.boolean().optional(),
  })
  .strict()
  .refine((user) => user.role !== undefined || user.read.length > 0 || user.write.length > 0 || user.reply !== undefined, {
    message: 'give a role (storefront, worker, operator, audit, feed) or rights (read, write, reply)',
  });

/** Printable, no white space or colon: a login appears in ERROR messages and log lines. */
const LOGIN = /^[A-Za-z0-9._@-]{1,128}$/;

/** The users file, or the same object given in memory to `EmbeddedBroker.start({ users })`. */
export const usersConfigSchema = z
  .object({
    /** Queue and topic name prefix of the built-in roles' rights. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'a prefix is 1-100 of A-Z a-z 0-9 . _ -')
      .default(DEFAULT_QUEUE_PREFIX),
    users: z.record(z.string(), userSchema).superRefine((users, ctx) => {
      const logins = Object.keys(users);
      if (logins.length === 0) ctx.addIssue({ code: 'custom', message: 'names no user' });
      for (const login of logins) {
        if (!LOGIN.test(login)) ctx.addIssue({ code: 'custom', path: [login], message: 'a login is 1-128 of A-Z a-z 0-9 . _ @ -' });
      }
    }),
  })
  .strict();

/** A users configuration as written (every default optional). */
export type UsersConfig = z.input<typeof usersConfigSchema>;
/** A users configuration with its defaults applied. */
export type ResolvedUsersConfig = z.output<typeof usersConfigSchema>;

/** A login's effective rights: its role's and its own extras together. */
export function rightsOf(user: ResolvedUsersConfig['users'][string], prefix: string): Rights {
  const role = user.role === undefined ? { read: [], write: [], reply: false } : roleRights(user.role, prefix);
  return { read: [...role.read, ...user.read], write: [...role.write, ...user.write], reply: user.reply ?? role.reply };
}

/**
 * Parse and validate the text of a users file. Errors are `BROKER_BAD_OPTION` with one line
 * naming the key (`users file: users.shop.role: …`). The old `login:passcode` format is refused
 * with how to convert it.
 */
export function parseUsersFile(text: string): ResolvedUsersConfig {
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: false, uniqueKeys: true, maxAliasCount: 0 });
  } catch (error) {
    if (looksLikeOldFormat(text)) throw oldFormat();
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new BrokerError('BROKER_BAD_OPTION', `users file: not valid YAML: ${detail}`);
  }
  if (!isMapping(document) || !('users' in document)) {
    if (looksLikeOldFormat(text)) throw oldFormat();
    throw new BrokerError('BROKER_BAD_OPTION', 'users file: expected a YAML mapping with a users: key (docs/broker.md#users-file)');
  }
  return validateUsersConfig(document as UsersConfig, 'users file');
}

/** Validate an in-memory configuration (also used for `EmbeddedBroker.start({ users })`). */
export function validateUsersConfig(config: UsersConfig, what = 'users'): ResolvedUsersConfig {
  const parsed = usersConfigSchema.safeParse(config);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
  throw new BrokerError('BROKER_BAD_OPTION', `${what}: ${detail}`);
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Called when there is no `users:` mapping: every meaningful line is an unindented `login:passcode`. */
function looksLikeOldFormat(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  if (lines.some((line) => /^(users|prefix)\s*:/.test(line))) return false; // a broken new-format file
  return lines.length > 0 && lines.every((line) => /^[^\s:#][^:]*:/.test(line));
}

const oldFormat = (): BrokerError =>
  new BrokerError(
    'BROKER_BAD_OPTION',
    'users file: the login:passcode format is no longer read; write YAML "users: { <login>: { password: <hash>, role: <role> } }" ' +
      'with each hash from "paygate broker hash-password" (docs/broker.md#users-file)',
  );
