/** voicemood's version, from package.json (for `voicemood --version`, /healthz and the API description). */
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
