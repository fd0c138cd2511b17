/**
 * The users file of `paygate broker --users FILE`: one `login:passcode` per line. The passcode is
 * everything after the first colon (it may contain colons); blank lines and lines starting with
 * `#` are ignored. Plain text on purpose, like ActiveMQ's users.properties: protect it with file
 * permissions.
 */
import { BrokerError } from './errors.ts';

export function parseUsers(text: string): Record<string, string> {
  const users: Record<string, string> = Object.create(null) as Record<string, string>;
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const colon = line.indexOf(':');
    const login = colon === -1 ? '' : line.slice(0, colon).trim();
    if (login === '') throw new BrokerError('BROKER_BAD_OPTION', `users file line ${index + 1}: expected login:passcode`);
    if (Object.hasOwn(users, login)) throw new BrokerError('BROKER_BAD_OPTION', `users file line ${index + 1}: ${login} appears twice`);
    users[login] = line.slice(colon + 1);
  });
  if (Object.keys(users).length === 0) throw new BrokerError('BROKER_BAD_OPTION', 'users file names no user');
  return { ...users };
}
