/**
 * Runs a CardGate sandbox on its own until SIGINT/SIGTERM:
 *
 *   npx tsx providers/card/sandbox/main.ts --port 8443 --cert certs/dev/tls.crt --key certs/dev/tls.key
 *
 * Prints the endpoint and WSDL URLs on stdout; `--verbose` writes the (scrubbed) log to stderr.
 * Exit code 2 for bad arguments or unreadable files.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startCardSandbox } from './sandbox.ts';

const USAGE =
  'usage: main.ts [--host 127.0.0.1] [--port 0] [--cert certs/dev/tls.crt] [--key certs/dev/tls.key]\n' +
  '               [--username cardgate] [--password cardgate-sandbox] [--path /cardgate] [--verbose]';

function parse() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      cert: { type: 'string', default: 'certs/dev/tls.crt' },
      key: { type: 'string', default: 'certs/dev/tls.key' },
      username: { type: 'string' },
      password: { type: 'string' },
      path: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  return values;
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let tls: { cert: string; key: string };
  try {
    tls = { cert: readFileSync(args.cert, 'utf8'), key: readFileSync(args.key, 'utf8') };
  } catch (error) {
    console.error(`cannot read the TLS certificate or key (${(error as NodeJS.ErrnoException).code ?? 'error'}); ` +
      'make a dev set with `npx paygate certs init --dir certs/dev`');
    process.exit(2);
  }
  const sandbox = await startCardSandbox({
    host: args.host,
    port: Number(args.port),
    tls,
    ...(args.username !== undefined && { username: args.username }),
    ...(args.password !== undefined && { password: args.password }),
    ...(args.path !== undefined && { path: args.path }),
    ...(args.verbose && { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  process.stdout.write(`CardGate sandbox: ${sandbox.url}\nWSDL: ${sandbox.wsdlUrl}\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
