/**
 * Parses `feature_encoder_spec`, a Python list expression such as
 * "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]", without eval: a tiny parser
 * for integers, tuples, lists, `+` (concatenation / addition) and `*` (repetition /
 * multiplication). Nesting and output length are bounded.
 */
import { VoicemoodError } from '../../domain/errors.ts';

export type ConvLayerSpec = [channels: number, kernel: number, stride: number];

type Value = number | { kind: 'list' | 'tuple'; items: Value[] };

const MAX_SOURCE = 2000;
const MAX_DEPTH = 8;
const MAX_ITEMS = 1000;

function bad(spec: string, why: string): VoicemoodError {
  return new VoicemoodError('model_invalid', `config.yaml has a feature_encoder_spec we cannot read (${why}).`, {
    details: { spec: spec.slice(0, 200) },
  });
}

export function parseConvSpec(spec: string): ConvLayerSpec[] {
  if (spec.length > MAX_SOURCE) throw bad(spec, 'it is too long');
  const tokens = spec.match(/\d+|[()[\],+*]|\S/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const expect = (t: string): void => {
    if (tokens[i] !== t) throw bad(spec, `expected '${t}' but found ${tokens[i] === undefined ? 'the end' : `'${tokens[i]}'`}`);
    i++;
  };
  const size = (v: Value): number => (typeof v === 'number' ? 1 : v.items.length);

  const binary = (op: '+' | '*', a: Value, b: Value): Value => {
    if (typeof a === 'number' && typeof b === 'number') {
      const r = op === '+' ? a + b : a * b;
      if (!Number.isSafeInteger(r)) throw bad(spec, 'a number is too large');
      return r;
    }
    if (op === '+') {
      if (typeof a === 'number' || typeof b === 'number' || a.kind !== b.kind) throw bad(spec, `'+' joins values of different kinds`);
      if (a.items.length + b.items.length > MAX_ITEMS) throw bad(spec, 'it describes too many layers');
      return { kind: a.kind, items: [...a.items, ...b.items] };
    }
    const [seq, n] = typeof a === 'number' ? [b, a] : [a, b];
    if (typeof seq === 'number' || typeof n !== 'number') throw bad(spec, `'*' multiplies two sequences`);
    if (seq.items.length * n > MAX_ITEMS) throw bad(spec, 'it describes too many layers');
    const items: Value[] = [];
    if (seq.items.length > 0) for (let k = 0; k < n; k++) items.push(...seq.items);
    return { kind: seq.kind, items };
  };

  const expr = (depth: number): Value => {
    let v = term(depth);
    while (peek() === '+') {
      i++;
      v = binary('+', v, term(depth));
    }
    return v;
  };
  const term = (depth: number): Value => {
    let v = factor(depth);
    while (peek() === '*') {
      i++;
      v = binary('*', v, factor(depth));
    }
    return v;
  };
  const factor = (depth: number): Value => {
    if (depth > MAX_DEPTH) throw bad(spec, 'it is nested too deeply');
    const t = peek();
    if (t !== undefined && /^\d+$/.test(t)) {
      i++;
      const n = Number(t);
      if (!Number.isSafeInteger(n)) throw bad(spec, 'a number is too large');
      return n;
    }
    if (t === '(' || t === '[') {
      i++;
      const close = t === '(' ? ')' : ']';
      const items: Value[] = [];
      let trailingComma = false;
      while (peek() !== close) {
        items.push(expr(depth + 1));
        if (items.length > MAX_ITEMS) throw bad(spec, 'it describes too many layers');
        trailingComma = peek() === ',';
        if (!trailingComma) break;
        i++;
      }
      expect(close);
      // "(x)" is grouping, "(x,)" a one-element tuple.
      if (t === '(' && items.length === 1 && !trailingComma) return items[0];
      return { kind: t === '(' ? 'tuple' : 'list', items };
    }
    throw bad(spec, t === undefined ? 'it ends too early' : `unexpected '${t}'`);
  };

  const result = expr(0);
  if (i !== tokens.length) throw bad(spec, `unexpected '${tokens[i]}'`);
  if (typeof result === 'number' || result.kind !== 'list' || result.items.length === 0) throw bad(spec, 'it is not a list of layers');
  return result.items.map((layer) => {
    if (typeof layer === 'number' || layer.kind !== 'tuple' || size(layer) !== 3 || layer.items.some((x) => typeof x !== 'number' || x < 1)) {
      throw bad(spec, 'each layer must be a (channels, kernel, stride) tuple of positive integers');
    }
    return layer.items as ConvLayerSpec;
  });
}
