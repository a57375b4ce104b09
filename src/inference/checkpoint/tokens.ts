/**
 * tokens.txt: one label per line, `<zh>/<en>` (e.g. `生气/angry`), in the model's output order.
 * `<unk>` is "unknown" (未知). Labels starting with `unuse` are placeholders the model was never
 * trained on: they are flagged so that the graph masks them out of the softmax.
 */
import { VoicemoodError } from '../../domain/errors.ts';

export interface CheckpointLabels {
  en: string[];
  zh: string[];
  /** masked[i] is true when label i must get logit -inf. */
  masked: boolean[];
}

const MAX_LABELS = 1000;

export function parseTokens(text: string): CheckpointLabels {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) throw new VoicemoodError('model_invalid', 'tokens.txt lists no labels.');
  if (lines.length > MAX_LABELS) throw new VoicemoodError('model_invalid', 'tokens.txt lists implausibly many labels.');
  const labels: CheckpointLabels = { en: [], zh: [], masked: [] };
  for (const line of lines) {
    let en: string;
    let zh: string;
    if (line === '<unk>') {
      en = 'unknown';
      zh = '未知';
    } else {
      const slash = line.indexOf('/');
      // A line without "/" (e.g. "unuse_0") is its own name in both languages.
      zh = slash < 0 ? line : line.slice(0, slash).trim();
      en = slash < 0 ? line : line.slice(slash + 1).trim();
      if (en.length === 0 || zh.length === 0)
        throw new VoicemoodError('model_invalid', `tokens.txt has a label we cannot read: ${JSON.stringify(line.slice(0, 80))}.`);
    }
    labels.en.push(en);
    labels.zh.push(zh);
    labels.masked.push(en.startsWith('unuse') || zh.startsWith('unuse'));
  }
  return labels;
}
