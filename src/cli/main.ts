/**
 * The `paygate` command. Sub-commands live one per file beside this one;
 * this file only assembles them and turns typed errors into one stderr line and an exit code.
 */
import { Command } from 'commander';
import { auditCommand } from './audit.ts';
import { brokerCommand } from './broker.ts';
import { certsCommand } from './certs.ts';
import { dbCommand } from './db.ts';
import { demoCommand } from './demo/command.ts';
import { feedCommand } from './feed.ts';
import { gatewayCommand } from './gateway.ts';
import { openCommand } from './open.ts';
import { requestCommand } from './request.ts';
import { sealCommand } from './seal.ts';
import { workerCommand } from './worker.ts';

const program = new Command('paygate')
  .description('Typed, encrypted, message-driven payment middleware')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(demoCommand());
program.addCommand(certsCommand());
program.addCommand(sealCommand());
program.addCommand(openCommand());
program.addCommand(brokerCommand());
program.addCommand(workerCommand());
program.addCommand(gatewayCommand());
program.addCommand(requestCommand());
program.addCommand(auditCommand());
program.addCommand(feedCommand());
program.addCommand(dbCommand());

await program.parseAsync(process.argv);
