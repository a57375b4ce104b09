// PLACEHOLDER — replaced by the converter work (issue 2).
import type { Command } from 'commander';
export function registerModelConvert(_model: Command): void {}
