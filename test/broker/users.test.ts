/**
 * The users file (YAML, scrypt PHC hashes, roles, patterns) and the password functions, without
 * a broker: what is accepted, what is refused and with which one-line message.
 */
import { describe, expect, it } from 'vitest';
import { hashPassword, parseUsersFile, PatternSet, patternProblem, rightsOf, roleRights, verifyPassword } from '../../src/broker/index.ts';
import { parsePhc, PasswordChecker } from '../../src/broker/password.ts';

const CHEAP = { ln: 4 };

describe('hashPassword / verifyPassword', () => {
  it('round-trips with the cost in the string, refuses other passwords, and salts every hash', async () => {
    const phc = await hashPassword('correct horse', CHEAP);
    expect(phc).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(phc, 'correct horse')).toBe(true);
    expect(await verifyPassword(phc, 'correct hors')).toBe(false);
    expect(await verifyPassword(phc, '')).toBe(false);
    expect(await hashPassword('correct horse', CHEAP)).not.toBe(phc);
    const costly = await hashPassword('x', { ln: 6, r: 4, p: 2 });
    expect(costly).toMatch(/^\$scrypt\$ln=6,r=4,p=2\$/);
    expect(await verifyPassword(costly, 'x')).toBe(true);
  });

  it('uses ln=15, r=8, p=1 by default', async () => {
    expect(await hashPassword('default cost')).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
  });

  it('refuses malformed or unbounded PHC strings and costs with BROKER_BAD_OPTION, never a silent false', async () => {
    const good = await hashPassword('pw', CHEAP);
    for (const bad of ['s3cret', good.replace('$scrypt$', '$argon2id$'), good.replace('ln=4', 'ln=21'), good.replace('ln=4', 'ln=20').replace('r=8', 'r=32')]) {
      await expect(verifyPassword(bad, 'pw')).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION' });
    }
    await expect(hashPassword('pw', { ln: 0 })).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION' });
    await expect(hashPassword('pw', { ln: 18, r: 16 })).rejects.toMatchObject({ code: 'BROKER_BAD_OPTION', message: /256 MiB/ });
  });
});

describe('PasswordChecker', () => {
  it('says false for an unknown login (still running scrypt on the decoy) and true for a match', async () => {
    const checker = new PasswordChecker();
    const stored = parsePhc(await hashPassword('pw', CHEAP));
    const decoy = parsePhc(await hashPassword('decoy', CHEAP));
    expect(await checker.check('alice', stored, decoy, 'pw')).toBe(true);
    expect(await checker.check('alice', stored, decoy, 'pw')).toBe(true); // cached
    expect(await checker.check('alice', stored, decoy, 'other')).toBe(false);
    expect(await checker.check('nobody', undefined, decoy, 'decoy')).toBe(false);
  });

  it('bounds the waiting line: a flood beyond it is refused at once with BROKER_LIMIT', async () => {
    const checker = new PasswordChecker();
    const stored = parsePhc(await hashPassword('pw', CHEAP));
    // 2 running + 256 waiting are taken; every check is issued before any can finish.
    const checks = Array.from({ length: 260 }, (_, i) => checker.check(`u${i}`, stored, stored, `wrong-${i}`));
    const results = await Promise.allSettled(checks);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(2);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'BROKER_LIMIT' });
    expect(results.slice(0, 258).every((r) => r.status === 'fulfilled' && r.value === false)).toBe(true);
    expect(await checker.check('alice', stored, stored, 'pw')).toBe(true); // the line drained
  });
});

describe('destination patterns', () => {
  it('matches * as one segment and a trailing > as the rest', () => {
    const one = new PatternSet(['/queue/paygate.*']);
    expect(one.matches('/queue/paygate.card')).toBe(true);
    expect(one.matches('/queue/paygate.card.dlq')).toBe(false);
    expect(one.matches('/queue/paygate.')).toBe(false);
    expect(one.matches('/queue/paygate.a/b')).toBe(false);
    expect(one.matches('/queue/paygateXcard')).toBe(false); // `.` is literal
    expect(one.matches('/topic/paygate.card')).toBe(false);
    const rest = new PatternSet(['/queue/paygate.>']);
    expect(rest.matches('/queue/paygate.card')).toBe(true);
    expect(rest.matches('/queue/paygate.card.dlq')).toBe(true);
    expect(rest.matches('/queue/paygate.')).toBe(false);
    const dlq = new PatternSet(['/queue/paygate.*.dlq']);
    expect(dlq.matches('/queue/paygate.card.dlq')).toBe(true);
    expect(dlq.matches('/queue/paygate.card')).toBe(false);
    expect(dlq.matches('/queue/paygate.a.b.dlq')).toBe(false);
    expect(new PatternSet(['/queue/a+b(c)']).matches('/queue/a+b(c)')).toBe(true);
    expect(new PatternSet([]).matches('/queue/x')).toBe(false);
  });

  it('refuses patterns outside /queue/ and /topic/, empty ones and a > that does not end them', () => {
    expect(patternProblem('/queue/x.*')).toBeUndefined();
    expect(patternProblem('/temp-queue/x')).toMatch(/\/queue\/ or \/topic\//);
    expect(patternProblem('/remote-temp-queue/>')).toMatch(/reply/);
    expect(patternProblem('/queue/')).toMatch(/no destination/);
    expect(patternProblem('/queue/a>.b')).toMatch(/>/);
    expect(patternProblem('/queue/a b')).toMatch(/white space/);
  });
});

describe('roles', () => {
  it('gives each built-in role its least-privilege rights under the prefix', () => {
    expect(roleRights('storefront', 'paygate.')).toEqual({ read: [], write: ['/queue/paygate.*'], reply: false });
    expect(roleRights('worker', 'paygate.')).toEqual({ read: ['/queue/paygate.*'], write: ['/queue/paygate.*.dlq', '/queue/paygate.feed.*'], reply: true });
    expect(roleRights('operator', 'shop.')).toEqual({ read: ['/queue/shop.>'], write: ['/queue/shop.>'], reply: false });
    expect(roleRights('audit', 'paygate.')).toEqual({ read: ['/topic/paygate.>'], write: [], reply: false });
    expect(roleRights('feed', 'paygate.')).toEqual({ read: ['/queue/paygate.feed.*'], write: ['/queue/paygate.feed.*.dlq'], reply: false });
  });

  it('adds a login’s own rights to its role’s, and its reply flag overrides the role’s', () => {
    const user = { password: 'h', role: 'worker' as const, read: ['/topic/x'], write: [], reply: false };
    expect(rightsOf(user, 'paygate.')).toEqual({ read: ['/queue/paygate.*', '/topic/x'], write: ['/queue/paygate.*.dlq', '/queue/paygate.feed.*'], reply: false });
  });
});

describe('parseUsersFile', () => {
  it('reads the YAML format with defaults', async () => {
    const hash = await hashPassword('pw', CHEAP);
    const parsed = parseUsersFile(
      `# paygate broker users\nusers:\n  shop-1:\n    password: "${hash}"\n    role: storefront\n  tools: { password: "${hash}", read: ["/queue/tools.>"], reply: true }\n`,
    );
    expect(parsed.prefix).toBe('paygate.');
    expect(parsed.users['shop-1']).toEqual({ password: hash, role: 'storefront', read: [], write: [] });
    expect(parsed.users.tools).toEqual({ password: hash, read: ['/queue/tools.>'], write: [], reply: true });
    expect(parseUsersFile(`prefix: shop.\nusers:\n  a: { password: "${hash}", role: audit }\n`).prefix).toBe('shop.');
  });

  it('refuses the old login:passcode format with how to convert it', () => {
    for (const old of ['# login:passcode\nworker:w0rk:er\n\nshop:s\n', 'shop: s3cret\n', 'alice:\n']) {
      expect(() => parseUsersFile(old)).toThrow(/^users file: the login:passcode format is no longer read; .*paygate broker hash-password/);
    }
  });

  it('refuses bad entries with one line naming the key', async () => {
    const hash = await hashPassword('pw', CHEAP);
    const cases: Array<[string, RegExp]> = [
      ['users:\n  shop: { password: s3cret, role: storefront }\n', /users\.shop\.password: expected "\$scrypt\$.*hash-password/],
      [`users:\n  shop: { password: "${hash}", role: admin }\n`, /users\.shop\.role/],
      [`users:\n  shop: { password: "${hash}" }\n`, /users\.shop: give a role/],
      [`users:\n  shop: { password: "${hash}", role: storefront, write: ["/temp-queue/x"] }\n`, /users\.shop\.write\.0: .*\/queue\/ or \/topic\//],
      [`users:\n  shop: { password: "${hash}", role: storefront, passcode: x }\n`, /users\.shop: .*passcode/],
      [`users:\n  "bad login": { password: "${hash}", role: storefront }\n`, /users\.bad login: a login is/],
      ['users: {}\n', /users: names no user/],
      [`prefix: "a/b"\nusers:\n  s: { password: "${hash}", role: audit }\n`, /prefix: a prefix is/],
      [`users:\n  s: { password: "${hash}", role: audit }\n  s: { password: "${hash}", role: worker }\n`, /not valid YAML/],
      ['users: [\n', /not valid YAML/],
      ['- a\n- b\n', /expected a YAML mapping with a users: key/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseUsersFile(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toMatchObject({ code: 'BROKER_BAD_OPTION' });
      expect((error as Error).message, text).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});
