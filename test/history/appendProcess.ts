/**
 * A child process for redisProcesses.test.ts and postgresProcesses.test.ts: opens the history store
 * on the KEYV_URL of argv[2] (Redis or Postgres) and
 * appends argv[4] entries for user argv[3] (50 at a time), once the file argv[5] exists (so that
 * both processes start writing together); prints "appended N" and exits.
 */
import { existsSync } from 'node:fs';
import { openHistory } from '../../src/history/open.ts';
import { entry } from './helpers.ts';

const [url, userId, countArg, goFile, tag] = process.argv.slice(2) as [string, string, string, string, string];
const history = await openHistory({ url, pruneEveryMs: 0 });
process.stdout.write('ready\n');
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 5));
const count = Number(countArg);
let done = 0;
for (let i = 0; i < count; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, count - i) }, (_, k) =>
      history.append(entry({ userId, chatId: `chat-${(i + k) % 3}`, userName: tag, at: Date.now() })).then(() => done++),
    ),
  );
}
await history.close();
process.stdout.write(`appended ${done}\n`);
