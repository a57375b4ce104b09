/**
 * The slash commands, as registered with Discord (PUT per guild in development when
 * DISCORD_GUILD_ID is set, global otherwise). English names and descriptions with Chinese
 * localizations.
 */
import { ChannelType, InteractionContextType, PermissionFlagsBits, SlashCommandBuilder, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';

export const MOOD_DEFAULT_WINDOW_MIN = 5;
export const MOOD_DEFAULT_LISTEN_S = 30;
export const MOOD_MAX_LISTEN_S = 300;

/** /settings names, as src/commands/settings understands them. */
export const SETTING_NAMES = ['reply', 'lang', 'consent', 'logchannel', 'heated_share', 'heated_window', 'heated_min_speech', 'group_speakers', 'cooldown', 'max_per_hour', 'repeat_count', 'repeat_window'] as const;

export function commandDefinitions(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const zh = (s: string) => ({ 'zh-CN': s, 'zh-TW': s });
  return [
    new SlashCommandBuilder()
      .setName('analyze')
      .setDescription('Tell how a voice message or audio file sounds')
      .setDescriptionLocalizations(zh('分析语音消息或音频文件的情绪'))
      .addAttachmentOption((o) => o.setName('audio').setDescription('Voice message or audio file').setDescriptionLocalizations(zh('语音消息或音频文件')).setRequired(true)),
    new SlashCommandBuilder()
      .setName('mood')
      .setDescription("The mood of your voice channel (or of this channel's voice messages)")
      .setDescriptionLocalizations(zh('你所在语音频道的情绪（或本频道语音消息的情绪）'))
      .addIntegerOption((o) => o.setName('window').setDescription(`Minutes to look back when I am already listening (default ${MOOD_DEFAULT_WINDOW_MIN})`).setMinValue(1).setMaxValue(60))
      .addIntegerOption((o) =>
        o.setName('duration').setDescription(`Seconds to listen when I am not listening yet (default ${MOOD_DEFAULT_LISTEN_S}, max ${MOOD_MAX_LISTEN_S})`).setMinValue(5).setMaxValue(MOOD_MAX_LISTEN_S),
      ),
    new SlashCommandBuilder()
      .setName('listen')
      .setDescription('Continuous listening in your voice channel (moderation signals)')
      .setDescriptionLocalizations(zh('在你的语音频道持续收听（审核提醒）'))
      // Server-only: a global command is offered in DMs too unless its contexts say otherwise.
      .setContexts(InteractionContextType.Guild)
      .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
      .addSubcommand((c) => c.setName('start').setDescription('Start listening in your voice channel').setDescriptionLocalizations(zh('开始在你的语音频道收听')))
      .addSubcommand((c) => c.setName('stop').setDescription('Stop listening').setDescriptionLocalizations(zh('停止收听'))),
    new SlashCommandBuilder()
      .setName('me')
      .setDescription('Your recent moods and trend')
      .setDescriptionLocalizations(zh('你最近的情绪和趋势'))
      .addBooleanOption((o) => o.setName('export').setDescription('Send me a file of everything stored about me (only I see it)').setDescriptionLocalizations(zh('以文件发送关于我的全部数据（仅我可见）'))),
    new SlashCommandBuilder().setName('forget').setDescription('Delete everything I stored about you').setDescriptionLocalizations(zh('删除我保存的关于你的一切')),
    new SlashCommandBuilder()
      .setName('privacy')
      .setDescription('Allow or stop the analysis of your voice')
      .setDescriptionLocalizations(zh('允许或停止分析你的语音'))
      .addStringOption((o) =>
        o
          .setName('choice')
          .setDescription('in = analyse me, out = never analyse me')
          .addChoices({ name: 'in', value: 'in' }, { name: 'out', value: 'out' }),
      ),
    new SlashCommandBuilder()
      .setName('settings')
      .setDescription('Server settings: log channel, thresholds, language, consent mode (Manage Server)')
      .setDescriptionLocalizations(zh('服务器设置：日志频道、阈值、语言、同意模式（管理服务器）'))
      .setContexts(InteractionContextType.Guild)
      .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
      .addStringOption((o) => o.setName('name').setDescription('Setting to change (empty: show all)').addChoices(...SETTING_NAMES.map((n) => ({ name: n, value: n }))))
      .addStringOption((o) => o.setName('value').setDescription('New value'))
      .addChannelOption((o) => o.setName('channel').setDescription('For logchannel: where alerts go').addChannelTypes(ChannelType.GuildText)),
  ].map((b) => b.toJSON());
}
