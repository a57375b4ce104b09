/**
 * A fake Telegram Bot API server for end-to-end tests: node:http on 127.0.0.1, random port.
 *
 * It implements what our bot calls (getMe, getUpdates with offset/timeout long polling, getFile and
 * the /file/bot<token>/<path> download, sendMessage, editMessageText, editMessageReplyMarkup,
 * answerCallbackQuery, setMyCommands, setMessageReaction, sendPhoto and sendDocument as multipart,
 * getChatAdministrators, getChatMember, deleteWebhook, setWebhook) and records every call, so tests
 * push updates in and assert on what the bot answered. A wrong token gets 401 like the real API.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Chat, ChatMember, Message, Update, User } from 'grammy/types';
import { checkMarkup, checkText, type Checked } from './checks.ts';

/** The Bot API's getFile limit for bots on the public server. */
export const GET_FILE_LIMIT_BYTES = 20 * 1024 * 1024;

export interface RecordedCall {
  method: string;
  /** Parameters as the bot sent them (JSON, query, urlencoded or multipart text fields). */
  params: Record<string, unknown>;
  /** Multipart file parts: field name → bytes (sendPhoto, sendDocument). */
  files: Record<string, { filename: string; bytes: Uint8Array }>;
  /** Position in `calls` (calls are recorded once answered). */
  seq: number;
  /** message_id of the Message the server answered with (sendMessage, sendPhoto, edits). */
  resultMessageId?: number;
  /** When it was recorded (performance.now(), ms). */
  at: number;
}

export interface FakeFile {
  bytes: Uint8Array;
  /** Size reported in getFile / the message; defaults to bytes.length. */
  size?: number;
  /** The download sends its headers and the first bytes, then never finishes (a stuck download). */
  stall?: boolean;
  /** The download sends its headers and the first bytes, then the connection drops. */
  cut?: boolean;
  /** Like a local Bot API server in --local mode: getFile answers this absolute path on disk. */
  localPath?: string;
}

interface Waiter {
  offset: number;
  resolve: (updates: Update[]) => void;
  timer: NodeJS.Timeout;
}

export interface FakeTelegramOptions {
  token: string;
  botUser?: Partial<User>;
}

export class FakeTelegram {
  readonly token: string;
  readonly calls: RecordedCall[] = [];
  readonly botUser: User;
  /** Chat id → admin users (getChatAdministrators / getChatMember). */
  readonly admins = new Map<number, User[]>();
  /** File paths of the downloads started (GET /file/bot<token>/<path>), in order. */
  readonly downloads: string[] = [];
  /** Number of requests answered 401 because of a wrong token. */
  unauthorized = 0;
  /** When set, getUpdates fails with it (e.g. 409: another instance is polling). */
  getUpdatesError: { code: number; description: string } | undefined;
  /** When set, setWebhook fails with it (e.g. 400: an http:// URL). */
  setWebhookError: { code: number; description: string } | undefined;
  /** Groups upgraded to supergroups: old chat id → new one (calls to the old id get 400 + migrate_to_chat_id). */
  readonly migrated = new Map<number, number>();

  private server: Server | undefined;
  private port = 0;
  private updates: Update[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private confirmedOffset = 0;
  private waiters: Waiter[] = [];
  private files = new Map<string, FakeFile & { path: string }>();
  /** Methods whose next call gets 429 with this retry_after (flood control), once. */
  private floods = new Map<string, number>();
  /** Methods whose next calls fail with a server error (e.g. 502 from Telegram's front end), `left` more times. */
  private serverErrors = new Map<string, { code: number; left: number }>();
  /** What each message the bot sent shows (text + markup), to refuse edits that change nothing. */
  private shown = new Map<string, string>();
  private callListeners = new Set<() => void>();
  private closed = false;

  constructor(options: FakeTelegramOptions) {
    this.token = options.token;
    this.botUser = { id: 424242, is_bot: true, first_name: 'voicemood test', username: 'voicemood_test_bot', ...options.botUser };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) reply(res, 500, { ok: false, error_code: 500, description: `fake server error: ${String(e)}` });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The value for TELEGRAM_API_ROOT. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve([]);
    }
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  // ---- what tests put in ----

  /** Makes a file downloadable; returns its file_id. */
  addFile(fileId: string, file: FakeFile): string {
    this.files.set(fileId, { ...file, path: file.localPath ?? `voice/${fileId}.oga` });
    return fileId;
  }

  fileSize(fileId: string): number {
    const f = this.files.get(fileId);
    if (!f) throw new Error(`fake: no file ${fileId}`);
    return f.size ?? f.bytes.length;
  }

  /** The next call of `method` is refused by flood control (429, retry_after). */
  floodOnce(method: string, retryAfterS: number): void {
    this.floods.set(method, retryAfterS);
  }

  /** The next `times` calls of `method` fail with this 5xx (Telegram's servers failing, not a refusal). */
  serverErrorTimes(method: string, times: number, code = 502): void {
    this.serverErrors.set(method, { code, left: times });
  }

  setAdmins(chatId: number, users: User[]): void {
    this.admins.set(chatId, users);
  }

  /** Queues an update (update_id is assigned here) and wakes a waiting getUpdates. */
  pushUpdate(update: Omit<Update, 'update_id'>): Update {
    const full = { ...update, update_id: this.nextUpdateId++ };
    this.updates.push(full);
    this.wakeWaiters();
    return full;
  }

  newMessageId(): number {
    return this.nextMessageId++;
  }

  // ---- what tests read ----

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (already recorded or future) that matches; rejects after `timeoutMs`. */
  waitForCall(predicate: (c: RecordedCall) => boolean, timeoutMs = 30_000, what = 'a matching call'): Promise<RecordedCall> {
    return this.waitFor(() => this.calls.find(predicate), timeoutMs, what);
  }

  /** Resolves once `count` matching calls have been recorded. */
  waitForCalls(predicate: (c: RecordedCall) => boolean, count: number, timeoutMs = 60_000, what = 'matching calls'): Promise<RecordedCall[]> {
    return this.waitFor(
      () => {
        const found = this.calls.filter(predicate);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} × ${what}`,
    );
  }

  /** Calls `fn` with every call recorded from now on; returns an unsubscribe function. */
  onCall(fn: (call: RecordedCall) => void): () => void {
    const listener = (): void => fn(this.calls[this.calls.length - 1]);
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  private waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const first = check();
      if (first !== undefined) return resolve(first);
      const listener = (): void => {
        const found = check();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      // A guard so that a broken bot fails the test instead of hanging it (not a speed assertion).
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake telegram: gave up waiting for ${what} after ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.callListeners.delete(listener);
      };
      this.callListeners.add(listener);
    });
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.apiRoot);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) return this.download(fileMatch[1], decodeURIComponent(fileMatch[2]), res);
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!match) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (match[1] !== this.token) {
      this.unauthorized++;
      return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const { params, files } = await readParams(req, url);
    const call: RecordedCall = { method: match[2], params, files, seq: -1, at: 0 };
    const answer = await this.answer(call);
    if ('result' in answer && typeof answer.result === 'object' && answer.result !== null && 'message_id' in answer.result) {
      call.resultMessageId = Number(answer.result.message_id);
    }
    // Recorded once answered, so a test that sees a call also sees what the bot got back.
    call.seq = this.calls.length;
    call.at = performance.now();
    this.calls.push(call);
    for (const l of [...this.callListeners]) l();
    if ('error' in answer)
      return reply(res, answer.error, {
        ok: false,
        error_code: answer.error,
        description: answer.description,
        ...(answer.parameters ? { parameters: answer.parameters } : {}),
      });
    reply(res, 200, { ok: true, result: answer.result });
  }

  private download(token: string, path: string, res: ServerResponse): void {
    if (token !== this.token) {
      this.unauthorized++;
      return reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const file = [...this.files.values()].find((f) => f.path === path);
    if (!file) return reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    this.downloads.push(path);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
    if (file.stall)
      res.write(file.bytes.subarray(0, Math.min(64, file.bytes.length - 1))); // closed by close()
    else if (file.cut) res.write(file.bytes.subarray(0, Math.min(64, file.bytes.length - 1)), () => res.destroy());
    else res.end(file.bytes);
  }

  private async answer(call: RecordedCall): Promise<{ result: unknown } | { error: number; description: string; parameters?: Record<string, unknown> }> {
    const p = call.params;
    const refused = (c: Checked | undefined): { error: number; description: string } | undefined =>
      c && !c.ok ? { error: 400, description: c.description } : undefined;
    const flood = this.floods.get(call.method);
    if (flood !== undefined) {
      this.floods.delete(call.method);
      return { error: 429, description: `Too Many Requests: retry after ${flood}`, parameters: { retry_after: flood } };
    }
    const failing = this.serverErrors.get(call.method);
    if (failing && failing.left > 0) {
      failing.left--;
      return { error: failing.code, description: failing.code === 502 ? 'Bad Gateway' : 'Internal Server Error' };
    }
    const movedTo = p.chat_id === undefined ? undefined : this.migrated.get(Number(p.chat_id));
    if (movedTo !== undefined)
      return { error: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: movedTo } };
    switch (call.method) {
      case 'getMe':
        return { result: this.botUser };
      case 'getUpdates':
        if (this.getUpdatesError) return { error: this.getUpdatesError.code, description: this.getUpdatesError.description };
        return { result: await this.getUpdates(p) };
      case 'getFile': {
        const id = String(p.file_id);
        const file = this.files.get(id);
        if (!file) return { error: 400, description: 'Bad Request: invalid file_id' };
        const size = file.size ?? file.bytes.length;
        if (size > GET_FILE_LIMIT_BYTES) return { error: 400, description: 'Bad Request: file is too big' };
        return { result: { file_id: id, file_unique_id: `u-${id}`, file_size: size, file_path: file.path } };
      }
      case 'sendMessage': {
        const bad = refused(checkText(String(p.text ?? ''), p.parse_mode, 4096, 'message text')) ?? refused(checkMarkup(p.reply_markup));
        if (bad) return bad;
        const sent = this.message(p, { text: String(p.text ?? '') });
        this.shown.set(`${sent.chat.id}:${sent.message_id}`, JSON.stringify([p.text, p.reply_markup ?? null]));
        return { result: sent };
      }
      case 'sendPhoto': {
        const bad = p.caption === undefined ? undefined : refused(checkText(String(p.caption), p.parse_mode, 1024, 'caption'));
        if (bad) return bad;
        return {
          result: this.message(p, {
            photo: [{ file_id: `photo-${this.nextMessageId}`, file_unique_id: `up-${this.nextMessageId}`, width: 800, height: 300 }],
            caption: p.caption === undefined ? undefined : String(p.caption),
          }),
        };
      }
      case 'sendDocument': {
        // Like the real API: the document is a file_id, a URL, or attach://<part> naming an uploaded part.
        const ref = typeof p.document === 'string' ? p.document : '';
        const part = ref.startsWith('attach://') ? call.files[ref.slice('attach://'.length)] : call.files.document;
        if (!part) return { error: 400, description: 'Bad Request: there is no document in the request' };
        if (part.bytes.length === 0) return { error: 400, description: 'Bad Request: file must be non-empty' };
        const bad = p.caption === undefined ? undefined : refused(checkText(String(p.caption), p.parse_mode, 1024, 'caption'));
        if (bad) return bad;
        const id = `doc-${this.nextMessageId}`;
        return {
          result: this.message(p, {
            document: { file_id: id, file_unique_id: `u${id}`, file_name: part.filename, file_size: part.bytes.length },
            caption: p.caption === undefined ? undefined : String(p.caption),
          }),
        };
      }
      case 'editMessageText': {
        const bad = refused(checkText(String(p.text ?? ''), p.parse_mode, 4096, 'message text')) ?? refused(checkMarkup(p.reply_markup));
        if (bad) return bad;
        const key = `${Number(p.chat_id)}:${Number(p.message_id)}`;
        const shows = JSON.stringify([p.text, p.reply_markup ?? null]);
        if (this.shown.get(key) === shows) {
          return {
            error: 400,
            description:
              'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          };
        }
        this.shown.set(key, shows);
        return { result: { ...this.message(p, { text: String(p.text ?? '') }), message_id: Number(p.message_id), edit_date: now() } };
      }
      case 'answerCallbackQuery':
        if (typeof p.text === 'string' && p.text.length > 200) return { error: 400, description: 'Bad Request: MESSAGE_TOO_LONG' };
        return { result: true };
      case 'editMessageReplyMarkup':
        return { result: { ...this.message(p, {}), message_id: Number(p.message_id), edit_date: now() } };
      case 'setMyCommands': {
        // BotCommand: command 1-32 of [a-z0-9_], description 1-256 characters; at most 100 commands.
        const commands = p.commands as { command?: unknown; description?: unknown }[];
        const badCommand =
          !Array.isArray(commands) ||
          commands.length > 100 ||
          commands.some(
            (c) =>
              typeof c.command !== 'string' ||
              !/^[a-z0-9_]{1,32}$/.test(c.command) ||
              typeof c.description !== 'string' ||
              c.description.length < 1 ||
              c.description.length > 256,
          );
        if (badCommand) return { error: 400, description: 'Bad Request: BOT_COMMAND_INVALID' };
        return { result: true };
      }
      case 'setWebhook':
        if (this.setWebhookError) return { error: this.setWebhookError.code, description: this.setWebhookError.description };
        return { result: true };
      case 'setMessageReaction':
      case 'deleteWebhook':
      case 'deleteMessage':
      case 'sendChatAction':
        return { result: true };
      case 'getChatAdministrators': {
        const chatId = Number(p.chat_id);
        if (chatId > 0) return { error: 400, description: 'Bad Request: there are no administrators in the private chat' };
        return {
          result: (this.admins.get(chatId) ?? []).map((user, i): ChatMember =>
            i === 0 ? { status: 'creator', user, is_anonymous: false } : adminMember(user),
          ),
        };
      }
      case 'getChatMember': {
        const chatId = Number(p.chat_id);
        const userId = Number(p.user_id);
        const admins = this.admins.get(chatId) ?? [];
        const i = admins.findIndex((u) => u.id === userId);
        if (i === 0) return { result: { status: 'creator', user: admins[0], is_anonymous: false } };
        if (i > 0) return { result: adminMember(admins[i]) };
        return { result: { status: 'member', user: { id: userId, is_bot: false, first_name: `user${userId}` } } };
      }
      default:
        return { error: 404, description: `Not Found: method ${call.method} is not implemented by the fake server` };
    }
  }

  private message(p: Record<string, unknown>, content: Partial<Message>): Message {
    const chatId = Number(p.chat_id);
    const chat = (chatId > 0 ? { id: chatId, type: 'private', first_name: `user${chatId}` } : { id: chatId, type: 'group', title: `group${chatId}` }) as Chat;
    return { message_id: this.nextMessageId++, date: now(), chat, from: this.botUser, ...content };
  }

  private getUpdates(p: Record<string, unknown>): Promise<Update[]> {
    const offset = p.offset === undefined ? 0 : Number(p.offset);
    // Like the real API: asking with an offset confirms every update below it.
    if (offset > this.confirmedOffset) {
      this.confirmedOffset = offset;
      this.updates = this.updates.filter((u) => u.update_id >= offset);
    }
    const limit = p.limit === undefined ? 100 : Number(p.limit);
    const ready = this.pending(offset, limit);
    const timeoutS = p.timeout === undefined ? 0 : Number(p.timeout);
    if (ready.length > 0 || timeoutS <= 0 || this.closed) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        resolve: (u) => resolve(u.slice(0, limit)),
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve([]);
        }, timeoutS * 1000),
      };
      this.waiters.push(waiter);
    });
  }

  private pending(offset: number, limit: number): Update[] {
    return this.updates.filter((u) => u.update_id >= offset).slice(0, limit);
  }

  private wakeWaiters(): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(this.pending(w.offset, 100));
    }
  }
}

function adminMember(user: User): ChatMember {
  return {
    status: 'administrator',
    user,
    can_be_edited: false,
    is_anonymous: false,
    can_manage_chat: true,
    can_delete_messages: true,
    can_manage_video_chats: false,
    can_restrict_members: true,
    can_promote_members: false,
    can_change_info: true,
    can_invite_users: true,
    can_post_stories: false,
    can_edit_stories: false,
    can_delete_stories: false,
    can_send_welcome_messages: false,
  };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readParams(req: IncomingMessage, url: URL): Promise<{ params: Record<string, unknown>; files: RecordedCall['files'] }> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const files: RecordedCall['files'] = {};
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (body.length === 0) return { params, files };
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    Object.assign(params, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
  } else if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
    // The platform's own multipart parser (undici) reads the body; values that look like JSON are parsed.
    const form = await new Response(body, { headers: { 'content-type': type } }).formData();
    for (const [key, value] of form) {
      if (typeof value === 'string') params[key] = parseMaybeJson(value);
      else files[key] = { filename: value.name, bytes: new Uint8Array(await value.arrayBuffer()) };
    }
  }
  return { params, files };
}

function parseMaybeJson(value: string): unknown {
  if (!/^[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
