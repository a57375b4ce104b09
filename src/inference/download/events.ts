/** What a model pull reports while it works (the CLI draws it: src/cli/progress.ts). */
export type PullEvent =
  | { type: 'stage'; text: string }
  /** Bytes of a file so far: downloaded (`download`) or written by the converter (`convert`). */
  | { type: 'file'; file: string; received: number; total: number | undefined; kind?: 'download' | 'convert' }
  | { type: 'file-done'; file: string; bytes: number; resumedFrom: number; cached: boolean };

export type PullProgress = (event: PullEvent) => void;
