// PLACEHOLDER — replaced by the audio/CLI work (issue 3).
import type { Command } from 'commander';
export function registerAnalyze(_program: Command): void {}
