/**
 * The slash commands, as registered with Discord (PUT per guild in development when
 * DISCORD_GUILD_ID is set, global otherwise), generated from the command registry
 * (src/commands/registry.ts): English names and descriptions with Chinese localizations (zh-CN and
 * zh-TW), server-only contexts and default permissions where the registry says so.
 */
import {
  ChannelType,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type LocalizationMap,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type SlashCommandSubcommandBuilder,
} from 'discord.js';
import { COMMANDS, type CommandEntry, type CommandOption } from '../../commands/registry.ts';

const PERMISSIONS = { manageGuild: PermissionFlagsBits.ManageGuild } as const;

/** Discord's Chinese locales, both given the registry's (simplified) Chinese. */
function zh(text: string | undefined): LocalizationMap | undefined {
  return text === undefined ? undefined : { 'zh-CN': text, 'zh-TW': text };
}

interface Describable {
  setName(name: string): this;
  setDescription(description: string): this;
  setDescriptionLocalizations(localizations: LocalizationMap | null): this;
}

function describe<T extends Describable>(b: T, name: string, description: { en: string; zh?: string }): T {
  b.setName(name).setDescription(description.en);
  const localized = zh(description.zh);
  if (localized) b.setDescriptionLocalizations(localized);
  return b;
}

function addOption(b: SlashCommandBuilder, o: CommandOption): void {
  switch (o.type) {
    case 'string':
      b.addStringOption((x) => {
        describe(x, o.name, o.description).setRequired(o.required ?? false);
        if (o.choices) x.addChoices(...o.choices.map((c) => ({ name: c, value: c })));
        return x;
      });
      return;
    case 'integer':
      b.addIntegerOption((x) => {
        describe(x, o.name, o.description).setRequired(o.required ?? false);
        if (o.min !== undefined) x.setMinValue(o.min);
        if (o.max !== undefined) x.setMaxValue(o.max);
        return x;
      });
      return;
    case 'boolean':
      b.addBooleanOption((x) => describe(x, o.name, o.description).setRequired(o.required ?? false));
      return;
    case 'attachment':
      b.addAttachmentOption((x) => describe(x, o.name, o.description).setRequired(o.required ?? false));
      return;
    case 'channel':
      b.addChannelOption((x) =>
        describe(x, o.name, o.description)
          .setRequired(o.required ?? false)
          .addChannelTypes(ChannelType.GuildText),
      );
      return;
    case 'subcommand':
      b.addSubcommand((x: SlashCommandSubcommandBuilder) => describe(x, o.name, o.description));
      return;
    default:
      o satisfies never;
  }
}

export function slashCommand(entry: CommandEntry): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const b = describe(new SlashCommandBuilder(), entry.name, entry.description);
  if (entry.discord?.guildOnly) b.setContexts(InteractionContextType.Guild);
  if (entry.discord?.defaultMemberPermissions) b.setDefaultMemberPermissions(PERMISSIONS[entry.discord.defaultMemberPermissions]);
  for (const o of entry.options ?? []) addOption(b, o);
  return b.toJSON();
}

/** The registry's Discord commands, in registry order. */
export function commandDefinitions(registry: readonly CommandEntry[] = COMMANDS): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return registry.filter((c) => c.discord).map(slashCommand);
}
