/**
 * Child process of durability.test.ts: appends entries for ever (4 in flight at a time) and prints
 * "ack <id>" after each append resolved. The parent kills it with SIGKILL mid-stream.
 */
import { openHistory } from '../../src/history/open.ts';
import { entry } from './helpers.ts';

const history = await openHistory({ env: { VOICEMOOD_DATA_DIR: process.argv[2] } });
let n = 0;
async function lane(lane: number): Promise<never> {
  for (;;) {
    const i = n++;
    const e = await history.append(entry({ id: `${process.argv[3]}-${i}`, userId: `u${i % 3}`, chatId: `c${lane % 2}`, at: Date.now() }));
    process.stdout.write(`ack ${e.id}\n`);
  }
}
process.stdout.write('ready\n');
await Promise.all([lane(0), lane(1), lane(2), lane(3)]);
