/**
 * Every user-facing string of the bots and commands, in English and Chinese. One place, so that a
 * translation is never forgotten: the zh table must have the same keys as the en table (the type
 * checks that).
 */
import type { ErrorCode } from '../domain/errors.ts';
import type { Lang } from '../domain/emotions.ts';

const en = {
  confidence: 'confidence',
  duration: 'duration',
  seconds: (s: number) => `${formatSeconds(s)}`,
  timelineTitle: 'Timeline (one symbol per 0.5 s)',
  timelineTitleEvery: (s: string) => `Timeline (one symbol per ${s})`,
  timelineEmpty: 'No frame timeline for this one.',
  chartTitle: 'Emotion shares over time',
  meTitle: (n: number) => `Your last ${n} voice note${n === 1 ? '' : 's'}`,
  meEmpty: 'I have no voice notes of yours yet. Send me one!',
  meTrend: 'Trend: ',
  ago: (span: string) => `${span} ago`,
  meOverall: (days: number) => `Last ${days} days: `,
  trend: { rising: 'getting tenser', steady: 'steady', falling: 'calming down' },
  trendMood: (older: string, newer: string) => `earlier mostly ${older}, lately mostly ${newer}`,
  moodTitle: (hours: string) => `Mood of this chat, last ${hours}`,
  moodEmpty: 'No voice notes here in that window yet.',
  moodOverall: 'Overall: ',
  notes: (n: number) => `${n} note${n === 1 ? '' : 's'}`,
  talk: 'talk',
  forgetDone: (entries: number, chatEntries: number, settings: number) =>
    `Done: I deleted everything I stored about you — ${entries} analysed voice note${entries === 1 ? '' : 's'}, ${chatEntries} cop${chatEntries === 1 ? 'y' : 'ies'} in chat summaries and ${settings} settings record${settings === 1 ? '' : 's'}.`,
  forgetNothing: 'I had nothing stored about you. Nothing to delete.',
  forgetKeptOptOut: 'I kept only the fact that you opted out, so that I go on ignoring your voice; /privacy in removes it.',
  langSet: 'Language set to English.',
  langUsage: 'Usage: /lang en or /lang zh',
  help: [
    'I listen to voice notes and tell how they sound (angry, happy, sad, neutral …).',
    '',
    'Send a voice note → its mood card: emotion, confidence and the 9 scores.',
    '/me — your recent moods and trend',
    '/mood — how this chat has sounded in the last 24 h',
    '/forget — delete everything I stored about you',
    '/privacy out|in — stop or allow analysing your voice (an opt-out is kept even after /forget)',
    '/me export — a file of everything I stored about you',
    '/lang en|zh — language',
    '/settings — chat settings (admins)',
    '/alerts on|off — moderation alerts in private (admins)',
  ].join('\n'),
  start: 'Hi! Send me a voice note and I will tell you how it sounds. /help lists what I can do.',
  privacyNotice:
    'Privacy: I analyse voice notes in this chat for emotion. I never store audio — only the emotion scores, for /me and /mood, kept for {days} days. /privacy out stops me analysing your voice (it stays in force after /forget); /forget deletes what I stored; /me export sends you a copy.',
  privacyOut:
    'OK: I will not analyse your voice any more. /privacy in turns it back on. (/forget deletes what is already stored and keeps only this opt-out, so that I go on ignoring your voice.)',
  privacyOutGuild: (server: string) =>
    `OK: I will not analyse your voice in the server ${server} any more (voice messages and voice channels). /privacy in here turns it back on; /privacy out in a private chat with me stops it on every server. /forget keeps this opt-out.`,
  privacyInGuild: (server: string) =>
    `OK: I may analyse your voice in the server ${server}, including its voice channels when I listen there. This is for ${server} only: every other server needs its own /privacy in.`,
  privacyInDm: 'OK: your opt-out for every server is lifted. Being analysed in a server’s voice channels still needs /privacy in in that server.',
  privacyGlobalOutNote: 'Note: you opted out everywhere (/privacy out in a private chat with me), and that still applies; /privacy in there lifts it.',
  privacyStatusGuild: (server: string, state: string) =>
    `Voice analysis for you in the server ${server}: ${state}. Use /privacy out or /privacy in here (this server only).`,
  privacyGuildStates: {
    in: 'on (you agreed for this server)',
    out: 'off (you opted out)',
    default: 'not chosen (voice channels: only if this server listens to everyone)',
  },
  privacyIn: 'OK: I will analyse your voice notes again.',
  privacyStatus: (state: string) => `Voice analysis for you: ${state}. Use /privacy out or /privacy in.`,
  privacyStates: { in: 'on (opted in)', out: 'off (opted out)', default: 'on (default)' },
  optedOutRequest: 'You opted out of voice analysis, so I did not analyse this. /privacy in turns it back on.',
  optedOutAuthor: 'The author of this voice note opted out of voice analysis, so I did not analyse it.',
  exportGroup: 'For your privacy I send your data only in a private chat: open a private chat with me and send /me export there.',
  exportCaption: 'Everything I stored about you (JSON). No audio is ever stored.',
  settingsAdminOnly: 'Only admins of this chat can change its settings.',
  settingsPrivate: 'Settings are for groups and servers; in a private chat use /lang and /privacy.',
  settingsShow: 'Settings of this chat',
  settingsUsage: [
    'Change one with /settings <name> <value>:',
    '  reply auto|on_demand',
    '  lang en|zh',
    '  consent opt_in|opt_out',
    '  logchannel <channel id>|off',
    '  repeat_count <n>   repeat_window <seconds>',
    '  heated_share <0..1>   heated_window <seconds>   heated_min_speech <seconds>',
    '  cooldown <seconds>   max_per_hour <n>',
  ].join('\n'),
  settingsSaved: (name: string, value: string) => `Saved: ${name} = ${value}.`,
  settingsBad: (name: string) => `I cannot set "${name}" to that. /settings shows the names and values.`,
  settingsLogChannelForeign: 'That is not a text channel of this server (or I cannot see it): choose one of this server’s channels for the log.',
  alertsOn: 'You will receive moderation alerts of this chat in private. (Start a private chat with me so that I can write to you.)',
  alertsOff: 'You will no longer receive moderation alerts of this chat.',
  alertsUsage: 'Usage: /alerts on or /alerts off',
  alertsAnonymous:
    'You are posting anonymously, so I cannot send you alerts in private. Send /alerts on from your own account (turn off “Remain anonymous” for a moment).',
  alertTitleRepeated: (name: string) => `Heads-up: ${name} sounds upset repeatedly`,
  alertTitleHeated: (name: string) => `Heads-up: ${name} is getting heated`,
  alertTitleGroup: (n: number) => `Heads-up: ${n} speakers are heated at once`,
  alertBody: (chat: string, count: number, windowS: number, share: string, trend: string) =>
    `Chat: ${chat}\n${count} item${count === 1 ? '' : 's'} in the last ${formatSeconds(windowS)}, anger+disgust ${share}, trend: ${trend}.`,
  rateLimited: (s: number) => `You are sending a lot right now. Please try again in ${s} s.`,
  chatRateLimited: (s: number) => `This chat is sending a lot right now. Please try again in ${s} s.`,
  busy: (s: number) => `I am busy with other voice right now. Please try again in ${s} s.`,
  errors: {
    bad_input: 'That request did not make sense to me.',
    too_large: 'That file is too large for me.',
    too_long: 'That audio is too long for me.',
    too_short: 'That is too short to tell — please send at least half a second of speech.',
    silent: 'I could not hear anything in that — it is silent.',
    undecodable: 'I could not read that audio file.',
    timeout: 'That took too long. Please try again.',
    busy: 'I am busy right now. Please try again shortly.',
    rate_limited: 'Too many requests. Please try again shortly.',
    model_missing: 'The emotion model is not available right now.',
    model_invalid: 'The emotion model is damaged; an operator needs to look at it.',
    unsafe_checkpoint: 'The emotion model was refused for safety.',
    checkpoint_mismatch: 'The emotion model does not match what I expect.',
    download_failed: 'Downloading the emotion model failed.',
    forbidden: 'You are not allowed to do that here.',
    not_found: 'I could not find that.',
    internal: 'Something went wrong on my side. Please try again later.',
  } satisfies Record<ErrorCode, string>,
};

export type Strings = typeof en;

const zh: Strings = {
  confidence: '置信度',
  duration: '时长',
  seconds: (s: number) => `${formatSeconds(s)}`,
  timelineTitle: '时间线（每 0.5 秒一个符号）',
  timelineTitleEvery: (s: string) => `时间线（每 ${s} 一个符号）`,
  timelineEmpty: '这条语音没有逐帧时间线。',
  chartTitle: '情绪占比随时间变化',
  meTitle: (n: number) => `你最近的 ${n} 条语音`,
  meEmpty: '我还没有你的语音记录。发一条给我吧！',
  meTrend: '趋势：',
  ago: (span: string) => `${span}前`,
  meOverall: (days: number) => `最近 ${days} 天：`,
  trend: { rising: '越来越紧张', steady: '平稳', falling: '逐渐平静' },
  trendMood: (older: string, newer: string) => `之前多为${older}，最近多为${newer}`,
  moodTitle: (hours: string) => `本群最近 ${hours} 的情绪`,
  moodEmpty: '这段时间内这里还没有语音。',
  moodOverall: '整体：',
  notes: (n: number) => `${n} 条`,
  talk: '说话',
  forgetDone: (entries: number, chatEntries: number, settings: number) =>
    `完成：我已删除关于你的全部数据——${entries} 条语音分析、群摘要中的 ${chatEntries} 条副本和 ${settings} 条设置记录。`,
  forgetNothing: '我没有存储任何关于你的数据，无需删除。',
  forgetKeptOptOut: '我只保留了你已退出分析这一点，以便继续忽略你的语音；/privacy in 可撤销。',
  langSet: '语言已设为中文。',
  langUsage: '用法：/lang en 或 /lang zh',
  help: [
    '我会听语音并告诉你它听起来是什么情绪（生气、开心、难过、中立……）。',
    '',
    '发送语音 → 情绪卡片：情绪、置信度和 9 项得分。',
    '/me — 你最近的情绪和趋势',
    '/mood — 本群最近 24 小时的情绪',
    '/forget — 删除我存储的关于你的一切',
    '/privacy out|in — 停止或允许分析你的语音（退出在 /forget 之后依然有效）',
    '/me export — 导出我存储的关于你的全部数据',
    '/lang en|zh — 语言',
    '/settings — 群设置（管理员）',
    '/alerts on|off — 私信接收管理提醒（管理员）',
  ].join('\n'),
  start: '你好！发一条语音给我，我会告诉你它听起来是什么情绪。/help 查看全部功能。',
  privacyNotice:
    '隐私说明：我会分析本群语音的情绪。我从不存储音频，只保存情绪得分（用于 /me 和 /mood），保留 {days} 天。/privacy out 停止分析你的语音（/forget 之后依然有效）；/forget 删除已存储的数据；/me export 把数据副本发给你。',
  privacyOut: '好的：我不会再分析你的语音。/privacy in 可重新开启。（/forget 删除已存储的数据，只保留这项退出设置，以便继续忽略你的语音。）',
  privacyOutGuild: (server: string) =>
    `好的：我不会再在服务器 ${server} 中分析你的语音（语音消息和语音频道）。在这里使用 /privacy in 可重新开启；在与我的私聊中使用 /privacy out 则对所有服务器生效。/forget 会保留这项退出设置。`,
  privacyInGuild: (server: string) =>
    `好的：我可以在服务器 ${server} 中分析你的语音，包括我在那里收听语音频道时。这只适用于 ${server}：其他服务器需要各自的 /privacy in。`,
  privacyInDm: '好的：已撤销你对所有服务器的退出设置。要在某个服务器的语音频道中被分析，仍需在该服务器中使用 /privacy in。',
  privacyGlobalOutNote: '注意：你已在与我的私聊中退出所有分析（/privacy out），该设置仍然有效；在私聊中使用 /privacy in 可撤销。',
  privacyStatusGuild: (server: string, state: string) => `你在服务器 ${server} 的语音分析：${state}。在这里使用 /privacy out 或 /privacy in（仅限本服务器）。`,
  privacyGuildStates: { in: '开启（你已为本服务器同意）', out: '关闭（已退出）', default: '未选择（语音频道：仅当本服务器分析所有人时）' },
  privacyIn: '好的：我会重新分析你的语音。',
  privacyStatus: (state: string) => `你的语音分析：${state}。使用 /privacy out 或 /privacy in。`,
  privacyStates: { in: '开启（已同意）', out: '关闭（已退出）', default: '开启（默认）' },
  optedOutRequest: '你已退出语音分析，所以我没有分析这条语音。/privacy in 可重新开启。',
  optedOutAuthor: '这条语音的发送者已退出语音分析，所以我没有分析它。',
  exportGroup: '为保护你的隐私，我只在私聊中发送你的数据：请打开与我的私聊并在那里发送 /me export。',
  exportCaption: '我存储的关于你的全部数据（JSON）。从不存储任何音频。',
  settingsAdminOnly: '只有本群管理员可以修改设置。',
  settingsPrivate: '设置用于群组和服务器；私聊中请使用 /lang 和 /privacy。',
  settingsShow: '本群设置',
  settingsUsage: [
    '用 /settings <名称> <值> 修改：',
    '  reply auto|on_demand',
    '  lang en|zh',
    '  consent opt_in|opt_out',
    '  logchannel <频道 id>|off',
    '  repeat_count <次数>   repeat_window <秒>',
    '  heated_share <0..1>   heated_window <秒>   heated_min_speech <秒>',
    '  cooldown <秒>   max_per_hour <次数>',
  ].join('\n'),
  settingsSaved: (name: string, value: string) => `已保存：${name} = ${value}。`,
  settingsBad: (name: string) => `无法把“${name}”设为该值。/settings 显示可用的名称和值。`,
  settingsLogChannelForeign: '这不是本服务器的文字频道（或我看不到它）：请选择本服务器的一个频道作为日志频道。',
  alertsOn: '你将通过私信收到本群的管理提醒。（请先与我开始私聊，以便我能给你发消息。）',
  alertsOff: '你将不再收到本群的管理提醒。',
  alertsUsage: '用法：/alerts on 或 /alerts off',
  alertsAnonymous: '你正在以匿名身份发言，我无法私信你提醒。请用你自己的账号发送 /alerts on（暂时关闭“保持匿名”）。',
  alertTitleRepeated: (name: string) => `提醒：${name} 多次听起来很不满`,
  alertTitleHeated: (name: string) => `提醒：${name} 情绪越来越激动`,
  alertTitleGroup: (n: number) => `提醒：${n} 位发言者同时情绪激动`,
  alertBody: (chat: string, count: number, windowS: number, share: string, trend: string) =>
    `聊天：${chat}\n最近 ${formatSeconds(windowS)} 内 ${count} 条，生气+厌恶占 ${share}，趋势：${trend}。`,
  rateLimited: (s: number) => `你发送得太频繁了，请 ${s} 秒后再试。`,
  chatRateLimited: (s: number) => `本群现在消息太多，请 ${s} 秒后再试。`,
  busy: (s: number) => `我正在处理其他语音，请 ${s} 秒后再试。`,
  errors: {
    bad_input: '我无法理解这个请求。',
    too_large: '这个文件太大了。',
    too_long: '这段音频太长了。',
    too_short: '太短了，无法判断——请至少发送半秒的语音。',
    silent: '我什么也没听到——这段音频是静音。',
    undecodable: '我无法读取这个音频文件。',
    timeout: '处理超时，请重试。',
    busy: '我现在很忙，请稍后再试。',
    rate_limited: '请求太多，请稍后再试。',
    model_missing: '情绪模型暂时不可用。',
    model_invalid: '情绪模型已损坏，需要管理员处理。',
    unsafe_checkpoint: '出于安全原因，情绪模型被拒绝。',
    checkpoint_mismatch: '情绪模型与预期不符。',
    download_failed: '下载情绪模型失败。',
    forbidden: '你无权在这里这样做。',
    not_found: '找不到该内容。',
    internal: '我这边出了点问题，请稍后再试。',
  },
};

const TABLES: Record<Lang, Strings> = { en, zh };

/** The UI strings of a language. */
export function t(lang: Lang): Strings {
  return TABLES[lang] ?? en;
}

/** "3.2 s", "1 min 05 s", "2 h 10 min": short, language-neutral units. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) s = 0;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = Math.round(s - m * 60);
    return r === 0 ? `${m} min` : `${m} min ${String(r).padStart(2, '0')} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s - h * 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "42%" / "4.2%" */
export function formatPercent(x: number): string {
  const p = Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0)) * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}
