/**
 * `paygate db migrate` (src/cli/db.ts) as a child process, on a real PostgreSQL: the database of
 * `--url`, `--url-env` or a config's `idempotency.url` (its `${env:…}` resolved) goes from
 * version 0 to the current one, then says it is up to date; a SQLite config has nothing to
 * migrate; an unreachable database is exit 1 with the password masked; wrong flags, and a
 * database of a newer paygate, are refused (exit 2).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { POSTGRES_SCHEMA_VERSION } from '../../src/worker/postgres-migrations.ts';
import { describePostgres, dropTestDatabases, freshDatabase, sql } from '../helpers/postgres.ts';
import { BIN, ROOT } from '../integration/request-path-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'paygate-db-cli-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropTestDatabases();
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function paygate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const masked = (url: string): string => url.replace(':paygate-test-pass@', ':***@');

/** A config file of the worker with `idempotency` as given (the other files only need to exist). */
function configWith(idempotency: string): string {
  const folder = mkdtempSync(join(dir, 'cfg-'));
  for (const file of ['gateway.pem', 'gateway.key', 'client-ca.pem', 'card.ts']) writeFileSync(join(folder, file), `${file}\n`);
  const path = join(folder, 'gateway.yaml');
  writeFileSync(
    path,
    [
      'brokers: [{host: localhost}]',
      'identity: {cert: gateway.pem, key: gateway.key}',
      'trust: {client_ca: [client-ca.pem]}',
      'providers: [{name: card, module: card.ts}]',
      `idempotency: ${idempotency}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describePostgres('paygate db migrate', () => {
  it('migrates the database of --url, then finds it up to date', async () => {
    const url = await freshDatabase();
    const first = await paygate(['db', 'migrate', '--url', url]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`paygate db migrate: ${masked(url)}: schema version 0 → ${POSTGRES_SCHEMA_VERSION}\n`);
    expect(await sql(url, 'SELECT version FROM schema_migrations')).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
    const second = await paygate(['db', 'migrate', '--url', url]);
    expect(second).toMatchObject({ code: 0, stdout: `paygate db migrate: ${masked(url)}: already at schema version ${POSTGRES_SCHEMA_VERSION}\n` });
  });

  it('reads the URL from the variable --url-env names', async () => {
    const url = await freshDatabase();
    const run = await paygate(['db', 'migrate', '--url-env', 'PAYGATE_TEST_DB'], { PAYGATE_TEST_DB: url });
    expect(run).toMatchObject({ code: 0, stdout: `paygate db migrate: ${masked(url)}: schema version 0 → ${POSTGRES_SCHEMA_VERSION}\n` });
    const unset = await paygate(['db', 'migrate', '--url-env', 'PAYGATE_TEST_DB_UNSET']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/PAYGATE_TEST_DB_UNSET \(--url-env\) is not set/);
  });

  it('migrates the database a config names in idempotency.url, ${env:…} resolved', async () => {
    const url = await freshDatabase();
    const config = configWith('{url: "${env:PAYGATE_TEST_DB}"}');
    const run = await paygate(['db', 'migrate', '--config', config], { PAYGATE_TEST_DB: url });
    expect(run).toMatchObject({ code: 0, stdout: `paygate db migrate: ${masked(url)}: schema version 0 → ${POSTGRES_SCHEMA_VERSION}\n` });
  });

  it('has nothing to migrate for a SQLite store', async () => {
    const config = configWith('{path: state/idempotency.sqlite}');
    const run = await paygate(['db', 'migrate', '--config', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/is a SQLite file \(.*state\/idempotency\.sqlite\): nothing to migrate/);
  });

  it('exits 1 on an unreachable database, the password masked', async () => {
    const url = `postgres://paygate:Secret-Pw-71c@127.0.0.1:${await closedPort()}/paygate`;
    const run = await paygate(['db', 'migrate', '--url', url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^paygate: STORE_FAILED: migrating postgres:\/\/paygate:\*\*\*@127\.0\.0\.1:\d+\/paygate: .*ECONNREFUSED/);
    expect(run.stderr).not.toContain('Secret-Pw-71c');
  });

  it('refuses a database of a newer paygate (exit 2) and wrong flags (exit 2)', async () => {
    const url = await freshDatabase();
    await paygate(['db', 'migrate', '--url', url]);
    await sql(url, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'newer')", [POSTGRES_SCHEMA_VERSION + 1]);
    const ahead = await paygate(['db', 'migrate', '--url', url]);
    expect(ahead.code).toBe(2);
    expect(ahead.stderr).toMatch(/^paygate: STORE_SCHEMA_UNSUPPORTED: /);

    expect((await paygate(['db', 'migrate'])).code).toBe(2);
    expect((await paygate(['db', 'migrate', '--url', url, '--url-env', 'X'])).code).toBe(2);
    const notPostgres = await paygate(['db', 'migrate', '--url', 'mysql://root:pw@db/x']);
    expect(notPostgres.code).toBe(2);
    expect(notPostgres.stderr).toMatch(/STORE_BAD_OPTIONS/);
  });
});
