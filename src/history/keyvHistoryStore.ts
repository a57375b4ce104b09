/**
 * The history store on any keyv backend (SQLite file, Redis, Postgres).
 *
 * Key layout (inside the keyv namespace "voicemood"; ids are URI-encoded so that no id can reach
 * into another key):
 *   u/<platform>/<userId>/meta          { slots: ["YYYY-MM-DDTHH"…], chats: [chatId…] }
 *   u/<platform>/<userId>/h/<slot>      HistoryEntry[]   the user's entries of that UTC hour
 *   c/<platform>/<chatId>/meta          { slots: […] }
 *   c/<platform>/<chatId>/h/<slot>      HistoryEntry[]   copies for chat summaries (/mood)
 *   us/<platform>/<userId>            UserSettings
 *   cs/<platform>/<scopeId>           ChatSettings (Telegram chat / Discord guild)
 *   ua/<platform>/<userId>            [scopeId…]       chats whose alerts the user receives
 *
 * Safety of writes: keyv has no compare-and-swap, so every read-modify-write holds the keys it
 * touches (KeyedMutex, in this process; on Redis also a Redis lock per key, RedisKeyLock, on Postgres an
 * advisory lock per key, PostgresKeyLock, so that several processes can share the store; on SQLite
 * one process owns a store). An append writes the user's
 * bucket, the chat's bucket and both metas with ONE keyv setMany: a single SQLite transaction
 * (SqliteKeyvStore), a Redis MULTI, a Postgres multi-row upsert — so an entry is in both indexes
 * or in neither, and append() resolves only after that commit. Hourly buckets bound the size of each
 * rewrite (the per-chat rate limit caps a bucket at a few thousand entries).
 */
import { randomUUID } from 'node:crypto';
import type { Keyv } from 'keyv';
import { VoicemoodError } from '../domain/errors.ts';
import { EMOTIONS, isEmotion, LANGS } from '../domain/emotions.ts';
import { KeyedMutex, type KeyLock } from './keyedMutex.ts';
import {
  DEFAULT_CHAT_SETTINGS,
  type ChatSettings,
  type ForgetReport,
  type HistoryEntry,
  type HistoryStore,
  type ListOptions,
  type NewHistoryEntry,
  type UserExport,
  type UserSettings,
} from '../domain/history.ts';
import { PLATFORMS, type Platform } from '../domain/platform.ts';
import { optOutMarker } from './privacy.ts';

export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

interface UserMeta {
  slots: string[];
  chats: string[];
}
interface ChatMeta {
  slots: string[];
}

const enc = encodeURIComponent;
const userBase = (p: Platform, u: string) => `u/${p}/${enc(u)}`;
const chatBase = (p: Platform, c: string) => `c/${p}/${enc(c)}`;
const metaKey = (base: string) => `${base}/meta`;
const slotKey = (base: string, slot: string) => `${base}/h/${slot}`;
const userSettingsKey = (p: Platform, u: string) => `us/${p}/${enc(u)}`;
const chatSettingsKey = (p: Platform, s: string) => `cs/${p}/${enc(s)}`;
const alertScopesKey = (p: Platform, u: string) => `ua/${p}/${enc(u)}`;

/** The UTC hour an entry is filed under, e.g. "2026-06-01T13". Sorts as text. */
export function slotOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

export interface HistoryOptions {
  /** Entries older than this are deleted (default 90 days; VOICEMOOD_RETENTION_DAYS). */
  retentionDays?: number;
  /** Clock for retention (ms epoch). */
  now?: () => number;
  /** Run prune() this often in the background (ms; 0/undefined = never). openHistory uses 6 h. */
  pruneEveryMs?: number;
  /**
   * The lock every read-modify-write holds (default: in this process only). openHistory passes a
   * RedisKeyLock for a store on Redis, so that several processes can share it.
   */
  lock?: KeyLock;
}

export class KeyvHistoryStore implements HistoryStore {
  readonly retentionDays: number;
  private readonly keyv: Keyv;
  private readonly mutex: KeyLock;
  private readonly now: () => number;
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly forgets = new Map<string, number>();

  constructor(keyv: Keyv, options: HistoryOptions = {}) {
    this.keyv = keyv;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.mutex = options.lock ?? new KeyedMutex();
    this.now = options.now ?? Date.now;
    if (options.pruneEveryMs && options.pruneEveryMs > 0) {
      // Entries of people who never write again must still go after the retention period.
      // Failures are harmless (reads filter by retention too); the next round retries.
      const every = options.pruneEveryMs;
      const run = () => void this.prune().catch(() => undefined);
      // First sweep a minute after start (restarts must not postpone it for ever), then regularly.
      this.pruneTimer = setTimeout(
        () => {
          run();
          this.pruneTimer = setInterval(run, every).unref();
        },
        Math.min(60_000, every),
      ).unref();
    }
  }

  // ---- entries -------------------------------------------------------------------------------

  async append(input: NewHistoryEntry): Promise<HistoryEntry> {
    const entry = validateEntry(input);
    const slot = slotOf(entry.at);
    const ub = userBase(entry.platform, entry.userId);
    const cb = chatBase(entry.platform, entry.chatId);
    return this.track(() =>
      this.mutex.withKeys([metaKey(ub), metaKey(cb)], async () => {
        const [umeta, ubucket, cmeta, cbucket] = (await this.keyv.getMany([metaKey(ub), slotKey(ub, slot), metaKey(cb), slotKey(cb, slot)])) as [
          UserMeta | undefined,
          HistoryEntry[] | undefined,
          ChatMeta | undefined,
          HistoryEntry[] | undefined,
        ];
        const um: UserMeta = { slots: addSorted(umeta?.slots ?? [], slot), chats: addSorted(umeta?.chats ?? [], entry.chatId) };
        const cm: ChatMeta = { slots: addSorted(cmeta?.slots ?? [], slot) };
        // Lazy retention: buckets past the retention period go when their owner writes again.
        const cutoff = slotOf(this.now() - this.retentionDays * DAY_MS);
        const expired = [...um.slots.filter((d) => d < cutoff).map((d) => slotKey(ub, d)), ...cm.slots.filter((d) => d < cutoff).map((d) => slotKey(cb, d))];
        um.slots = um.slots.filter((d) => d >= cutoff || d === slot);
        cm.slots = cm.slots.filter((d) => d >= cutoff || d === slot);
        const writes: { key: string; value: unknown }[] = [
          { key: slotKey(ub, slot), value: [...(ubucket ?? []), entry] },
          { key: slotKey(cb, slot), value: [...(cbucket ?? []), entry] },
        ];
        // Metas change once an hour or on a new chat: rewrite them only then.
        if (!sameMeta(umeta, um)) writes.push({ key: metaKey(ub), value: um });
        if (!sameMeta(cmeta, cm)) writes.push({ key: metaKey(cb), value: cm });
        await this.keyv.setMany(writes);
        const stale = expired.filter((k) => k !== slotKey(ub, slot) && k !== slotKey(cb, slot));
        if (stale.length > 0) await this.keyv.deleteMany(stale);
        return entry;
      }),
    );
  }

  async listUser(platform: Platform, userId: string, options: ListOptions = {}): Promise<HistoryEntry[]> {
    checkPlatform(platform);
    const base = userBase(platform, userId);
    const all = await this.readBuckets(base, options);
    // Belt and braces: an entry is only ever returned to its own user.
    return finish(
      all.filter((e) => e.userId === userId && e.platform === platform),
      options,
    );
  }

  async listChat(platform: Platform, chatId: string, options: ListOptions = {}): Promise<HistoryEntry[]> {
    checkPlatform(platform);
    const all = await this.readBuckets(chatBase(platform, chatId), options);
    return finish(
      all.filter((e) => e.chatId === chatId && e.platform === platform),
      options,
    );
  }

  private async readBuckets(base: string, options: ListOptions): Promise<HistoryEntry[]> {
    const meta = (await this.keyv.get(metaKey(base))) as UserMeta | ChatMeta | undefined;
    if (!meta) return [];
    const since = Math.max(options.since ?? -Infinity, this.now() - this.retentionDays * DAY_MS);
    const fromSlot = slotOf(Number.isFinite(since) ? since : 0);
    const toSlot = options.until !== undefined ? slotOf(options.until) : '9999';
    const slots = meta.slots.filter((d) => d >= fromSlot && d <= toSlot);
    if (slots.length === 0) return [];
    const buckets = (await this.keyv.getMany(slots.map((d) => slotKey(base, d)))) as (HistoryEntry[] | undefined)[];
    return buckets.flatMap((b) => b ?? []).filter((e) => e.at >= since && (options.until === undefined || e.at < options.until));
  }

  // ---- forgetting and retention -----------------------------------------------------------------

  async forgetUser(platform: Platform, userId: string): Promise<ForgetReport> {
    checkPlatform(platform);
    // Bumped before any await: an analysis that checks after this point sees the /forget.
    const k = userSettingsKey(platform, userId);
    this.forgets.set(k, (this.forgets.get(k) ?? 0) + 1);
    return this.track(() => this.forgetLocked(platform, userId));
  }

  forgetEpoch(platform: Platform, userId: string): number {
    return this.forgets.get(userSettingsKey(platform, userId)) ?? 0;
  }

  async exportUser(platform: Platform, userId: string): Promise<UserExport> {
    checkPlatform(platform);
    const [settings, scopes, entries] = await Promise.all([
      this.getUserSettings(platform, userId),
      this.keyv.get(alertScopesKey(platform, userId)) as Promise<string[] | undefined>,
      this.listUser(platform, userId),
    ]);
    return { platform, userId, settings, alertSubscriptions: scopes ?? [], entries };
  }

  private async forgetLocked(platform: Platform, userId: string): Promise<ForgetReport> {
    const ub = userBase(platform, userId);
    const report: ForgetReport = { entries: 0, chatEntries: 0, settings: 0, alertSubscriptions: 0 };
    // The chats to clean are known only after reading the meta; lock them all at once (sorted, no
    // deadlock) and retry if an append added a chat in between.
    for (;;) {
      const peek = (await this.keyv.get(metaKey(ub))) as UserMeta | undefined;
      const chats = peek?.chats ?? [];
      const done = await this.mutex.withKeys([metaKey(ub), ...chats.map((c) => metaKey(chatBase(platform, c)))], async () => {
        const meta = (await this.keyv.get(metaKey(ub))) as UserMeta | undefined;
        if (meta && meta.chats.some((c) => !chats.includes(c))) return false;
        if (meta) {
          const userBuckets = (await this.keyv.getMany(meta.slots.map((d) => slotKey(ub, d)))) as (HistoryEntry[] | undefined)[];
          report.entries += userBuckets.reduce((n, b) => n + (b?.length ?? 0), 0);
          for (const chatId of meta.chats) report.chatEntries += await this.removeFromChat(platform, chatId, userId);
          await this.keyv.deleteMany([...meta.slots.map((d) => slotKey(ub, d)), metaKey(ub)]);
        }
        return true;
      });
      if (done) break;
    }
    await this.mutex.withKeys([userSettingsKey(platform, userId), alertScopesKey(platform, userId)], async () => {
      const settings = (await this.keyv.get(userSettingsKey(platform, userId))) as UserSettings | undefined;
      // An opt-out is kept: without it the person's voice would be analysed again from now on. A
      // record that held nothing but the opt-out does not count as deleted.
      const marker = optOutMarker(settings);
      if (settings !== undefined && JSON.stringify(settings) !== JSON.stringify(marker)) report.settings++;
      const scopes = ((await this.keyv.get(alertScopesKey(platform, userId))) as string[] | undefined) ?? [];
      for (const scope of scopes) {
        const removed = await this.mutex.withKeys([chatSettingsKey(platform, scope)], async () => {
          const s = (await this.keyv.get(chatSettingsKey(platform, scope))) as ChatSettings | undefined;
          if (!s || !s.alertAdmins.includes(userId)) return false;
          await this.keyv.set(chatSettingsKey(platform, scope), { ...s, alertAdmins: s.alertAdmins.filter((a) => a !== userId) });
          return true;
        });
        if (removed) report.alertSubscriptions++;
      }
      // Overwritten in place, never deleted first (a crash in between must not lose the opt-out).
      if (marker) {
        await this.keyv.set(userSettingsKey(platform, userId), marker);
        await this.keyv.delete(alertScopesKey(platform, userId));
        report.keptOptOut = true;
      } else await this.keyv.deleteMany([userSettingsKey(platform, userId), alertScopesKey(platform, userId)]);
    });
    return report;
  }

  /** Removes the user's copies from every hourly bucket of one chat; the caller holds the chat's meta. */
  private async removeFromChat(platform: Platform, chatId: string, userId: string): Promise<number> {
    const cb = chatBase(platform, chatId);
    const meta = (await this.keyv.get(metaKey(cb))) as ChatMeta | undefined;
    if (!meta) return 0;
    const buckets = (await this.keyv.getMany(meta.slots.map((d) => slotKey(cb, d)))) as (HistoryEntry[] | undefined)[];
    let removed = 0;
    const writes: { key: string; value: unknown }[] = [];
    const deletes: string[] = [];
    const keptSlots: string[] = [];
    meta.slots.forEach((d, i) => {
      const b = buckets[i] ?? [];
      const kept = b.filter((e) => e.userId !== userId);
      removed += b.length - kept.length;
      if (kept.length === 0) deletes.push(slotKey(cb, d));
      else {
        keptSlots.push(d);
        if (kept.length !== b.length) writes.push({ key: slotKey(cb, d), value: kept });
      }
    });
    if (keptSlots.length === 0) deletes.push(metaKey(cb));
    else writes.push({ key: metaKey(cb), value: { slots: keptSlots } });
    if (writes.length > 0) await this.keyv.setMany(writes);
    if (deletes.length > 0) await this.keyv.deleteMany(deletes);
    return removed;
  }

  async prune(now: number = this.now()): Promise<number> {
    return this.track(() => this.pruneAll(now));
  }

  private async pruneAll(now: number): Promise<number> {
    if (!this.keyv.iterator) throw new VoicemoodError('internal', 'This history backend cannot list its keys, so old entries cannot be pruned.');
    const cutoff = slotOf(now - this.retentionDays * DAY_MS);
    const metas: string[] = [];
    for await (const [key] of this.keyv.iterator(undefined)) if (typeof key === 'string' && key.endsWith('/meta')) metas.push(key);
    let removed = 0;
    for (const mk of metas) {
      removed += await this.mutex.withKeys([mk], async () => {
        const meta = (await this.keyv.get(mk)) as UserMeta | ChatMeta | undefined;
        if (!meta) return 0;
        const base = mk.slice(0, -'/meta'.length);
        const old = meta.slots.filter((d) => d < cutoff);
        if (old.length === 0) return 0;
        const buckets = (await this.keyv.getMany(old.map((d) => slotKey(base, d)))) as (HistoryEntry[] | undefined)[];
        const rest = meta.slots.filter((d) => d >= cutoff);
        if (rest.length === 0) await this.keyv.delete(mk);
        else await this.keyv.set(mk, { ...meta, slots: rest });
        await this.keyv.deleteMany(old.map((d) => slotKey(base, d)));
        // Count each entry once: the user side (chat copies are the same entries).
        return mk.startsWith('u/') ? buckets.reduce((n, b) => n + (b?.length ?? 0), 0) : 0;
      });
    }
    return removed;
  }

  // ---- settings ------------------------------------------------------------------------------------

  async getUserSettings(platform: Platform, userId: string): Promise<UserSettings> {
    checkPlatform(platform);
    return ((await this.keyv.get(userSettingsKey(platform, userId))) as UserSettings | undefined) ?? {};
  }

  async setUserSettings(platform: Platform, userId: string, patch: Partial<UserSettings>): Promise<UserSettings> {
    checkPlatform(platform);
    if (patch.lang !== undefined && !LANGS.includes(patch.lang)) throw new VoicemoodError('bad_input', `Unknown language ${String(patch.lang)}.`);
    const key = userSettingsKey(platform, userId);
    return this.track(() =>
      this.mutex.withKeys([key], async () => {
        const stored = ((await this.keyv.get(key)) as UserSettings | undefined) ?? {};
        const next = dropUndefined({ ...stored, ...patch });
        // Per-server choices merge (a choice in one server leaves the others as they are).
        if (patch.privacyByGuild) next.privacyByGuild = { ...stored.privacyByGuild, ...patch.privacyByGuild };
        await this.keyv.set(key, next);
        return next;
      }),
    );
  }

  async getChatSettings(platform: Platform, scopeId: string): Promise<ChatSettings> {
    checkPlatform(platform);
    const stored = (await this.keyv.get(chatSettingsKey(platform, scopeId))) as Partial<ChatSettings> | undefined;
    return { ...DEFAULT_CHAT_SETTINGS, moderation: {}, alertAdmins: [], ...stored };
  }

  async setChatSettings(platform: Platform, scopeId: string, patch: Partial<ChatSettings>): Promise<ChatSettings> {
    checkPlatform(platform);
    const key = chatSettingsKey(platform, scopeId);
    return this.track(async () => {
      const { before, after } = await this.mutex.withKeys([key], async () => {
        const before = await this.getChatSettings(platform, scopeId);
        const after = dropUndefined<ChatSettings>({ ...before, ...patch, moderation: { ...before.moderation, ...patch.moderation } });
        await this.keyv.set(key, after);
        return { before, after };
      });
      // Keep each admin's list of alert subscriptions, so that forgetUser can remove them.
      const added = after.alertAdmins.filter((a) => !before.alertAdmins.includes(a));
      const gone = before.alertAdmins.filter((a) => !after.alertAdmins.includes(a));
      for (const [uid, add] of [...added.map((a) => [a, true] as const), ...gone.map((a) => [a, false] as const)]) {
        const ak = alertScopesKey(platform, uid);
        await this.mutex.withKeys([ak], async () => {
          const cur = ((await this.keyv.get(ak)) as string[] | undefined) ?? [];
          const next = add ? addSorted(cur, scopeId) : cur.filter((s) => s !== scopeId);
          if (next.length > 0) await this.keyv.set(ak, next);
          else await this.keyv.delete(ak);
        });
      }
      return after;
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops the sweep, lets pending writes finish (new ones are still accepted meanwhile), then disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.pruneTimer);
      clearInterval(this.pruneTimer);
      await this.flush();
      this.closed = true;
      await this.keyv.disconnect();
      await this.mutex.close?.();
    })();
    return this.closing;
  }

  /** Runs a write unless the store is closed, and remembers it until it settles (for flush). */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new VoicemoodError('internal', 'The history store is closed.'));
    const p = work();
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }
}

function checkPlatform(p: Platform): void {
  if (!PLATFORMS.includes(p)) throw new VoicemoodError('bad_input', `Unknown platform ${String(p)}.`);
}

function validateEntry(input: NewHistoryEntry): HistoryEntry {
  checkPlatform(input.platform);
  const bad = (what: string) => new VoicemoodError('bad_input', `A history entry needs ${what}.`, { details: { field: what } });
  if (typeof input.userId !== 'string' || input.userId === '') throw bad('a user id');
  if (typeof input.chatId !== 'string' || input.chatId === '') throw bad('a chat id');
  if (!Number.isFinite(input.at)) throw bad('a time');
  if (!isEmotion(input.emotion)) throw bad('a known emotion');
  if (!Number.isFinite(input.durationS) || input.durationS < 0) throw bad('a duration');
  for (const e of EMOTIONS) if (!Number.isFinite(input.scores?.[e])) throw bad(`a score for ${e}`);
  // Copy only the known fields: nothing else (never audio) can slip into storage.
  const entry: HistoryEntry = {
    id: input.id ?? randomUUID(),
    at: input.at,
    platform: input.platform,
    userId: input.userId,
    chatId: input.chatId,
    source: input.source,
    durationS: input.durationS,
    emotion: input.emotion,
    confidence: input.confidence,
    scores: Object.fromEntries(EMOTIONS.map((e) => [e, input.scores[e]])) as HistoryEntry['scores'],
  };
  if (input.userName !== undefined) entry.userName = input.userName;
  if (input.guildId !== undefined) entry.guildId = input.guildId;
  return entry;
}

function finish(entries: HistoryEntry[], options: ListOptions): HistoryEntry[] {
  entries.sort((a, b) => a.at - b.at);
  return options.limit !== undefined ? entries.slice(Math.max(0, entries.length - options.limit)) : entries;
}

function sameMeta(a: UserMeta | ChatMeta | undefined, b: UserMeta | ChatMeta): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function addSorted(list: string[], item: string): string[] {
  return list.includes(item) ? list : [...list, item].sort();
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
