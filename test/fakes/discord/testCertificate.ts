/**
 * A throwaway TLS certificate for 127.0.0.1 (the voice gateway is always wss://), made once per
 * test process with the `openssl` CLI and trusted by this process only.
 *
 * A bot in another process gets the same trust with `NODE_EXTRA_CA_CERTS=<certPath>`; here the bot
 * runs in the test process, so the certificate is added to Node's default CA list with
 * tls.setDefaultCACertificates (Node ≥ 22.19/24.5) — the in-process equivalent. Nothing else than
 * connections to 127.0.0.1 with this very certificate is affected.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { promisify } from 'node:util';

export interface TestCertificate {
  key: string;
  cert: string;
  /** A file holding `cert`, for NODE_EXTRA_CA_CERTS of a child process (removed at exit). */
  certPath: string;
}

let made: Promise<TestCertificate> | undefined;

export function testCertificate(): Promise<TestCertificate> {
  made ??= make();
  return made;
}

async function make(): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'vm-voice-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  await rm(keyPath);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  setDefaultCACertificates([...getCACertificates('default'), cert]);
  return { key, cert, certPath };
}
