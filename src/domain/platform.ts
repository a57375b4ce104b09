/** The chat platforms voicemood serves. */
export type Platform = 'telegram' | 'discord';
export const PLATFORMS: readonly Platform[] = ['telegram', 'discord'];
