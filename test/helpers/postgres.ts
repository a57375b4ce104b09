/**
 * A throwaway Postgres server of a test's own (initdb in a temp dir, trust auth, a free loopback
 * port), as test/history/postgres.test.ts starts one. Postgres refuses to run as root: it then runs
 * as the postgres user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.ts';

function findBin(name: string): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  }
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

const initdb = findBin('initdb');
const postgres = findBin('postgres');
export const missingPostgres = !initdb || !postgres ? 'Postgres is not installed (initdb/postgres not found; apt-get install postgresql)' : undefined;
/** Skips a test without Postgres, except in CI (CI=true), where scripts/setup.sh installs it: there it fails. */
export const skipWithoutPostgres: false | string = missingPostgres && process.env.CI !== 'true' ? missingPostgres : false;

export interface TestPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  if (missingPostgres) throw new Error(`CI must run the Postgres tests: ${missingPostgres}`);
  const isRoot = process.getuid?.() === 0;
  const asUser = (cmd: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const dir = mkdtempSync(join(tmpdir(), 'vm-pgp-'));
  chmodSync(dir, 0o777);
  const [c1, a1] = asUser(initdb!, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'voicemood']);
  const init = spawnSync(c1, a1, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [c2, a2] = asUser(postgres!, ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-F']);
  const server: ChildProcess = spawn(c2, a2, { stdio: 'ignore' });
  let up = false;
  for (let i = 0; i < 800 && !up; i++) {
    up = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (!up) await new Promise((r) => setTimeout(r, 25));
  }
  if (!up) throw new Error(`postgres did not listen on ${port}`);
  return {
    url: `postgres://voicemood@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
