/**
 * `paygate feed --config FILE`: the feed server (docs/feed-server.md). Opens the store, serves
 * the AtomPub API, signs checkpoints, and stores the workers' events from the events queue.
 *
 * stdout carries two lines scripts may wait for: `paygate feed serving <url>` once the HTTP
 * server listens, and `paygate feed consuming <queue>` once the events subscription is confirmed
 * (a broker that is not up yet is waited for, retried with backoff, each failure logged; the
 * server serves meanwhile). Log lines are pino JSON on stderr. SIGTERM or SIGINT: the consumer
 * stops first (what it holds is stored and acknowledged), then the server, then a last
 * checkpoint of each checkpointed feed, then the store closes; exit 0. A config problem: the
 * `CONFIG_INVALID` lines on stderr, exit 2.
 *
 * `paygate feed hash-token` prints the SHA-256 of a token read from stdin (for `token_sha256`);
 * `paygate feed new-token` prints a new random token and its hash.
 */
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { Command } from 'commander';
import type { CommanderError } from 'commander';
import { tokenSha256 } from './feed-config.ts';
import { checkReadable, guarded, REFUSED_EXIT_CODE } from './io.ts';

interface FeedCliOptions {
  config?: string;
}

const exitOverride = (error: CommanderError): never => process.exit(error.exitCode === 0 ? 0 : REFUSED_EXIT_CODE);

/** The `feed` sub-command. */
export function feedCommand(): Command {
  const command = new Command('feed')
    .description('Run the feed server: the Atom feeds of payment events and the audit trail (docs/feed-server.md)')
    .option('--config <file>', 'feed server config file (YAML)')
    .exitOverride(exitOverride)
    .action(
      guarded(async (o: FeedCliOptions, self: Command) => {
        if (o.config === undefined) self.error("error: required option '--config <file>' not specified", { exitCode: REFUSED_EXIT_CODE });
        checkReadable('--config', o.config as string);
        const { runFeedServer } = await import('./feed-run.ts');
        await runFeedServer(o.config as string);
      }),
    );
  command.addCommand(
    new Command('hash-token')
      .description('Read a token on stdin and print its SHA-256 (hex), for a client\'s token_sha256 in the config')
      .exitOverride(exitOverride)
      .action(
        guarded(async (_o: unknown, self: Command) => {
          // One trailing newline (echo, a file) is not part of the token.
          const token = (await buffer(process.stdin)).toString('utf8').replace(/\r?\n$/, '');
          if (token.length < 16) self.error('error: give a token of at least 16 characters on stdin (paygate feed new-token makes one)', { exitCode: REFUSED_EXIT_CODE });
          process.stdout.write(`${tokenSha256(token)}\n`);
        }),
      ),
  );
  command.addCommand(
    new Command('new-token')
      .description('Print a new random token (256 bits, base64url) and, on the next line, its SHA-256 for the config')
      .exitOverride(exitOverride)
      .action(() => {
        const token = randomBytes(32).toString('base64url');
        process.stdout.write(`token: ${token}\ntoken_sha256: ${tokenSha256(token)}\n`);
      }),
  );
  return command;
}
