/** A tiny random-weight model, its engine, and web servers on 127.0.0.1 for the web tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/inference/engine.ts';
import { writeTinyModel } from '../helpers/tinyModel.ts';
import type { EmotionEngine } from '../../src/inference/types.ts';
import { createLogger } from '../../src/util/log.ts';
import { startWebServer, type WebServer } from '../../src/web/server.ts';

export interface WebWorkspace {
  dir: string;
  modelPath: string;
  engine: Engine;
  cleanup(): Promise<void>;
}

export async function makeWebWorkspace(): Promise<WebWorkspace> {
  const dir = mkdtempSync(join(tmpdir(), 'vm-web-'));
  const modelPath = join(dir, 'tiny.onnx');
  await writeTinyModel(modelPath);
  const engine = await Engine.open(modelPath, { optimizedCacheDir: false, threads: 1 });
  return {
    dir,
    modelPath,
    engine,
    async cleanup() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server on a free port of 127.0.0.1 with exactly the environment given (no keys unless set). */
export function serve(engine: EmotionEngine | undefined, env: Record<string, string> = {}, options: { page?: boolean } = {}): Promise<WebServer> {
  return startWebServer({ engine, env, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }), say: () => {}, page: options.page });
}
