#!/usr/bin/env node
// The `voicemood` command. Runs the TypeScript sources directly (Node >= 22.12 strips types),
// or the compiled dist/ when it is there (a package installed from the registry).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/src/cli/main.js', import.meta.url);
const entry = existsSync(fileURLToPath(dist)) ? dist : new URL('../src/cli/main.ts', import.meta.url);
const { runCli } = await import(entry.href);
await runCli(process.argv);
