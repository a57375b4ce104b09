/** Platform language codes → the languages voicemood speaks. */
import type { Lang } from './emotions.ts';

/** Maps a platform language code (Telegram language_code, Discord locale) to en|zh. */
export function langFromCode(code: string | undefined): Lang {
  return code?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}
