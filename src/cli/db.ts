/**
 * `paygate db migrate`: brings the PostgreSQL idempotency store to this paygate's schema version
 * (src/worker/postgres-migrations.ts), for operators who open it with `migrate: false` and migrate
 * as a step of their own (before a rolling upgrade of several gateway hosts, say). Workers opened
 * with the default `migrate: true` do the same at start; both take the same lock, so running this
 * while gateways start is safe.
 *
 * The database: the `idempotency.url` of a worker/gateway config (`--config`, `${env:NAME}`
 * resolved as everywhere in it), or `--url`, or `--url-env NAME` (the URL in an environment
 * variable: a password on the command line is visible to every user of the host in the process
 * list). Prints `schema version FROM → TO` (FROM = TO: it was up to date). A config whose store is
 * a SQLite file has nothing to migrate: the file migrates itself when a worker opens it (exit 0).
 *
 * Exit 0 done (or nothing to do); 1 the database cannot be reached or the migration failed
 * (`STORE_FAILED`, the URL's password masked); 2 refused: bad flags, an invalid config, a URL that
 * is not postgres://, a database migrated by a newer paygate (`STORE_SCHEMA_UNSUPPORTED`).
 */
import { Command } from 'commander';
import type { CommanderError } from 'commander';
import { checkReadable, guarded, REFUSED_EXIT_CODE, reportRefusal } from './io.ts';
import { PaygateError } from '../errors.ts';

interface MigrateCliOptions {
  config?: string;
  url?: string;
  urlEnv?: string;
}

/** Exit code of a database that could not be reached or migrated (as opposed to a refusal, 2). */
export const DB_FAILED_EXIT_CODE = 1;

const exitOverride = (error: CommanderError): never => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE);

/** The `db` sub-command and its `migrate`. */
export function dbCommand(): Command {
  const command = new Command('db').description('The PostgreSQL idempotency store shared by several gateway hosts (docs/idempotency.md)').exitOverride(exitOverride);
  command.addCommand(
    new Command('migrate')
      .description('Migrate the PostgreSQL idempotency store to this version\'s schema; prints from → to')
      .option('--config <file>', 'a worker or gateway config file: migrates the database its idempotency.url names')
      .option('--url <url>', 'the database as postgres://user:password@host:port/database (visible in the process list: prefer --url-env)')
      .option('--url-env <name>', 'the environment variable holding the database URL')
      .exitOverride(exitOverride)
      .action(guarded(async (o: MigrateCliOptions, self: Command) => migrate(o, self))),
  );
  return command;
}

async function migrate(o: MigrateCliOptions, self: Command): Promise<void> {
  const given = [o.config, o.url, o.urlEnv].filter((value) => value !== undefined).length;
  if (given !== 1) self.error('error: give exactly one of --config <file>, --url <url>, --url-env <name>', { exitCode: REFUSED_EXIT_CODE });
  const url = await databaseUrl(o, self);
  if (url === undefined) return;
  // Loaded on use: other commands never load the PostgreSQL client.
  const { migratePostgres } = await import('../worker/postgres-migrations.ts');
  const { maskPostgresUrl } = await import('../worker/postgres-errors.ts');
  try {
    const { from, to } = await migratePostgres(url);
    const what = from === to ? `already at schema version ${to}` : `schema version ${from} → ${to}`;
    console.log(`paygate db migrate: ${maskPostgresUrl(url)}: ${what}`);
  } catch (error) {
    if (!(error instanceof PaygateError)) throw error;
    reportRefusal(error);
    if (error.code === 'STORE_FAILED') process.exitCode = DB_FAILED_EXIT_CODE;
  }
}

/** The URL the flags name; undefined (after saying so) when the config's store is a SQLite file. */
async function databaseUrl(o: MigrateCliOptions, self: Command): Promise<string | undefined> {
  if (o.url !== undefined) return o.url;
  if (o.urlEnv !== undefined) {
    const value = process.env[o.urlEnv];
    if (value === undefined || value === '') self.error(`error: the environment variable ${o.urlEnv} (--url-env) is not set`, { exitCode: REFUSED_EXIT_CODE });
    return value;
  }
  const path = o.config as string;
  checkReadable('--config', path);
  const { loadWorkerConfig } = await import('../worker/config.ts');
  const config = loadWorkerConfig(path);
  const store: { readonly url?: unknown; readonly path?: unknown } = config.idempotency;
  if (typeof store.url === 'string') return store.url;
  console.log(`paygate db migrate: the idempotency store of ${config.source} is a SQLite file (${String(store.path)}): nothing to migrate (it migrates itself when a worker opens it)`);
  return undefined;
}
