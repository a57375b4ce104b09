/**
 * The `ws` package (installed with discord.js) has no bundled types and @types/ws is not a
 * dependency; this is the small typed surface the fake gateway uses.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

export interface WsSocket {
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface WsServer {
  on(event: 'connection', listener: (socket: WsSocket, request: { url?: string }) => void): this;
  close(callback?: (err?: Error) => void): void;
  readonly clients: Set<WsSocket>;
}

interface WsModule {
  WebSocketServer: new (options: { server: Server | HttpsServer }) => WsServer;
}

export const OPEN = 1;
export const { WebSocketServer } = createRequire(import.meta.url)('ws') as WsModule;
