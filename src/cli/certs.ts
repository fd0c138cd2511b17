import { Command } from 'commander';

/** `paygate certs …` — being written (issue 2); replaced by the dev-CA implementation. */
export function certsCommand(): Command {
  return new Command('certs').description('Development certificates');
}
