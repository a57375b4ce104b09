import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS, namedScores, topEmotion } from '../src/domain/emotions.ts';

test('topEmotion picks the highest named score', () => {
  const scores = namedScores([0.1, 0.05, 0.05, 0.5, 0.1, 0.05, 0.05, 0.05, 0.05]);
  assert.equal(EMOTIONS.length, 9);
  assert.deepEqual(topEmotion(scores), { emotion: 'happy', confidence: 0.5 });
});
