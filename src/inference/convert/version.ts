/** Bumped whenever the graph a given checkpoint converts to changes (engines may compare it). */
export const CONVERTER_VERSION = '3';
