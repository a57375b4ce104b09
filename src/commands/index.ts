/** The platform-neutral commands; adapters import them from here. See types.ts for the contract. */
export { handleVoice, privacyNotice } from './voice.ts';
export { handleMe } from './me.ts';
export { handleMood, MOOD_WINDOW_MS } from './mood.ts';
export { handleForget, handleLang, handlePrivacy, handleHelp, handleStart } from './account.ts';
export { handleSettings, handleAlerts, parseSetting } from './settings.ts';
export { buildAlertReply } from './alert.ts';
export { errorReply, resolveLang, settingsScope } from './common.ts';
export { TokenBucketLimiter, limiterKeys, DEFAULT_RATE_RULES } from '../state/rateLimit.ts';
export type * from './types.ts';
