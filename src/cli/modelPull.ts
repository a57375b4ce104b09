// PLACEHOLDER — replaced by the engine/model store work (issue 2).
import type { Command } from 'commander';
export function registerModelPull(_model: Command): void {}
