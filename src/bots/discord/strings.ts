/** Discord-only sentences (voice channels, buttons), in English and Chinese. The rest is in src/mood/i18n.ts. */
import type { Lang } from '../../domain/emotions.ts';

const en = {
  timelineButton: 'Timeline',
  acknowledge: 'Acknowledge',
  snooze: 'Snooze 1 h',
  acknowledged: (who: string) => `Acknowledged by ${who}.`,
  snoozed: (who: string) => `Snoozed for 1 h by ${who}.`,
  alertGone: 'This alert is no longer active.',
  timelineGone: 'That timeline is no longer available; send the voice message again.',
  listeningStarted: (channel: string, mode: 'opt_in' | 'opt_out', seconds?: number) =>
    `🎙️ voicemood is listening in ${channel}${seconds ? ` for ${seconds} s` : ''} to tell how the channel sounds. No audio is recorded or stored — only emotion scores. ` +
    (mode === 'opt_in'
      ? 'Only members who opted in with `/privacy in` in this server are analysed.'
      : 'Members who do not want this can use `/privacy out` at any time; their voice is then ignored.'),
  listeningStopped: (channel: string) => `🔇 voicemood stopped listening in ${channel}.`,
  listeningKicked: (channel: string) => `🔇 I was disconnected from ${channel}, so I stopped listening.`,
  serverDeafened: (channel: string) => `🙉 A moderator deafened me in ${channel}: I hear nothing there until I am undeafened.`,
  serverUndeafened: (channel: string) => `👂 I can hear ${channel} again.`,
  serverMuted: (channel: string) => `🔇 A moderator muted me in ${channel}. I never speak, so I keep listening.`,
  notInVoice: 'Join a voice channel first, then run this command again.',
  notListening: 'I am not listening in a voice channel of this server.',
  alreadyListening: (channel: string) => `I am already listening in ${channel}.`,
  listenStarted: (channel: string) => `Listening in ${channel} until \`/listen stop\`.`,
  listenFailed: 'I could not join that voice channel (do I have the Connect permission there?).',
  moodListening: (seconds: number) => `Listening for ${seconds} s, then I will post the channel's mood here.`,
  moodTitle: (channel: string, window: string) => `Mood of ${channel}, last ${window}`,
  speakerCap: (name: string, max: number) => `I analyse at most ${max} speakers at once in a channel, so ${name} is not analysed right now.`,
  noVoiceAttachment: 'Attach an audio file or a voice message.',
  guildOnly: 'This command works in servers only.',
};

type Strings = typeof en;

const zh: Strings = {
  timelineButton: '时间线',
  acknowledge: '已知悉',
  snooze: '静音 1 小时',
  acknowledged: (who) => `${who} 已确认。`,
  snoozed: (who) => `${who} 已静音 1 小时。`,
  alertGone: '此提醒已失效。',
  timelineGone: '该时间线已不可用，请重新发送语音消息。',
  listeningStarted: (channel, mode, seconds) =>
    `🎙️ voicemood 正在 ${channel} 收听${seconds ? ` ${seconds} 秒` : ''}，以了解频道的情绪。不会录制或保存任何音频，只保存情绪分数。` +
    (mode === 'opt_in' ? '只分析在本服务器用 `/privacy in` 同意的成员。' : '不希望被分析的成员可随时使用 `/privacy out`，之后其语音将被忽略。'),
  listeningStopped: (channel) => `🔇 voicemood 已停止在 ${channel} 收听。`,
  listeningKicked: (channel) => `🔇 我已从 ${channel} 断开，因此停止收听。`,
  serverDeafened: (channel) => `🙉 管理员在 ${channel} 将我设为拒听：在解除之前我听不到任何声音。`,
  serverUndeafened: (channel) => `👂 我又能听到 ${channel} 了。`,
  serverMuted: (channel) => `🔇 管理员在 ${channel} 将我禁麦。我从不说话，所以会继续收听。`,
  notInVoice: '请先加入一个语音频道，然后再运行此命令。',
  notListening: '我目前没有在本服务器的语音频道中收听。',
  alreadyListening: (channel) => `我已经在 ${channel} 收听。`,
  listenStarted: (channel) => `正在 ${channel} 收听，直到 \`/listen stop\`。`,
  listenFailed: '我无法加入该语音频道（我在那里有“连接”权限吗？）。',
  moodListening: (seconds) => `收听 ${seconds} 秒，然后在这里发布频道的情绪。`,
  moodTitle: (channel, window) => `${channel} 的情绪，最近 ${window}`,
  speakerCap: (name, max) => `一个频道我最多同时分析 ${max} 位发言者，因此暂时不分析 ${name}。`,
  noVoiceAttachment: '请附上音频文件或语音消息。',
  guildOnly: '此命令只能在服务器中使用。',
};

export function ds(lang: Lang): Strings {
  return lang === 'zh' ? zh : en;
}
