// PLACEHOLDER — replaced by the bots work (issue 4): starts every bot whose token is set.
export async function main(): Promise<void> {
  process.stderr.write('voicemood: no bot is implemented yet\n');
}
if (import.meta.main) await main();
