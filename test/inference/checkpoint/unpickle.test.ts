import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVoicemoodError } from '../../../src/domain/errors.ts';
import { findStateDict, openCheckpoint, unpickle } from '../../../src/inference/checkpoint/index.ts';
import { PyDict, PyList, PyTuple, TensorRef } from '../../../src/inference/checkpoint/pickle.ts';
import { PickleWriter, checkpointArchive, stateDictPickle } from './helpers.ts';

const FIXTURE_DIR = new URL('../../fixtures/emotion2vec-reference/', import.meta.url).pathname;

function unsafe(global: string) {
  return (e: unknown): boolean => {
    assert.ok(isVoicemoodError(e, 'unsafe_checkpoint'), `expected unsafe_checkpoint, got ${String(e)}`);
    assert.equal(e.message, `model.pt asks for the Python global '${global}', which a checkpoint never needs: refusing to load it.`);
    return true;
  };
}

/** Pickles that would run a command creating `marker` if a real unpickler loaded them. */
function hostilePickles(marker: string): [string, Buffer][] {
  const cmd = `touch ${marker}`;
  return [
    ['os.system', new PickleWriter().proto(2).global('os', 'system').str(cmd).op(0x85).reduce().stop().bytes()],
    ['posix.system', new PickleWriter().proto(2).global('posix', 'system').str(cmd).op(0x85).reduce().stop().bytes()],
    [
      'builtins.eval',
      new PickleWriter()
        .proto(2)
        .global('builtins', 'eval')
        .str(`open(${JSON.stringify(marker)}, 'w')`)
        .op(0x85)
        .reduce()
        .stop()
        .bytes(),
    ],
    [
      'subprocess.Popen',
      new PickleWriter()
        .proto(4)
        .shortStr('subprocess')
        .shortStr('Popen')
        .op(0x93) // STACK_GLOBAL
        .mark()
        .shortStr('touch')
        .shortStr(marker)
        .op(0x74)
        .op(0x85)
        .reduce()
        .stop()
        .bytes(),
    ],
  ];
}

test('hostile globals are refused by name and nothing runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-pickle-'));
  try {
    const marker = join(dir, 'pwned');
    for (const [global, bytes] of hostilePickles(marker)) {
      assert.throws(() => unpickle(bytes), unsafe(global));
    }
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the global is refused the moment it is named, before the rest of the pickle is read', () => {
  // A refused global followed by garbage, and one hidden after a valid tensor inside a state dict.
  const thenGarbage = Buffer.concat([new PickleWriter().proto(2).global('os', 'system').bytes(), Buffer.from([0xff, 0xfe])]);
  assert.throws(() => unpickle(thenGarbage), unsafe('os.system'));
  const valid = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 2, offset: 0, shape: [2], stride: [1] }]);
  const hidden = Buffer.concat([valid.subarray(0, valid.length - 2), new PickleWriter().str('x').global('shutil', 'rmtree').op(0x75).stop().bytes()]);
  assert.throws(() => unpickle(hidden), unsafe('shutil.rmtree'));
  // Names with control characters are shown sanitised.
  assert.throws(
    () =>
      unpickle(
        new PickleWriter()
          .proto(2)
          .op(0x8c, Buffer.from([2]), Buffer.from('os'))
          .op(0x8c, Buffer.from([4]), Buffer.from('a\u0007bc'))
          .op(0x93)
          .stop()
          .bytes(),
      ),
    unsafe('os.a?bc'),
  );
});

test('object-building opcodes are refused as unsafe, unknown ones name the opcode', () => {
  const inst = Buffer.concat([Buffer.from([0x80, 2, 0x28, 0x69]), Buffer.from('os\nsystem\n'), Buffer.from('.')]);
  assert.throws(() => unpickle(inst), unsafe('os.system'));
  const newobj = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().op(0x81).stop().bytes();
  assert.throws(
    () => unpickle(newobj),
    (e: unknown) => isVoicemoodError(e, 'unsafe_checkpoint') && /NEWOBJ/.test(e.message),
  );
  assert.throws(
    () => unpickle(Buffer.from([0x80, 2, 0x8f, 0x2e])),
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && /EMPTY_SET \(0x8f\)/.test(e.message),
  );
  assert.throws(
    () => unpickle(Buffer.from([0x80, 2, 0xfa, 0x2e])),
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && /unknown \(0xfa\)/.test(e.message),
  );
  // Allowed storage types are data, not callables.
  const callStorage = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().bytes();
  assert.throws(
    () => unpickle(callStorage),
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && /torch\.FloatStorage/.test(e.message),
  );
  // ...and globals are never stored as data: {'x': torch.FloatStorage}, [OrderedDict], or returned.
  const asData = [
    new PickleWriter().proto(2).op(0x7d).str('x').global('torch', 'FloatStorage').op(0x73).stop().bytes(),
    new PickleWriter().proto(2).op(0x5d).global('collections', 'OrderedDict').op(0x61).stop().bytes(),
    new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').stop().bytes(),
  ];
  for (const bytes of asData) {
    assert.throws(
      () => unpickle(bytes),
      (e: unknown) => isVoicemoodError(e, 'model_invalid') && /global as data/.test(e.message),
    );
  }
});

test('a checkpoint folder with a hostile model.pt is refused by openCheckpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-ckpt-'));
  try {
    copyFileSync(join(FIXTURE_DIR, 'config.yaml'), join(dir, 'config.yaml'));
    copyFileSync(join(FIXTURE_DIR, 'tokens.txt'), join(dir, 'tokens.txt'));
    const marker = join(dir, 'pwned');
    for (const [global, bytes] of hostilePickles(marker)) {
      writeFileSync(join(dir, 'model.pt'), checkpointArchive(bytes, {}, { root: 'model' }));
      await assert.rejects(openCheckpoint(dir), unsafe(global));
    }
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain values pickled by python3 (protocols 2 and 4) come back as python built them', () => {
  // python3: v = {'a': [1, -2, 300, 70000, -(2**40), 2**70, 1.5, -0.25, True, False, None, 'ü', ('x',), (1,2), (1,2,3), (1,2,3,4), ()], 'b': {'n': 1}}; v['c'] = v['a']; pickle.dumps(v, protocol=p).hex()
  const hex = {
    2: '80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000ff8a09000000000000000040473ff800000000000047bfd000000000000088894e5802000000c3bc710358010000007871048571054b014b028671064b014b024b03877107284b014b024b034b04747108296558010000006271097d710a58010000006e710b4b0173580100000063710c6802752e',
    4: '8004957c000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000ff8a09000000000000000040473ff800000000000047bfd000000000000088894e8c02c3bc948c01789485944b014b0286944b014b024b038794284b014b024b034b04749429658c0162947d948c016e944b01738c0163946802752e',
  };
  for (const h of Object.values(hex)) {
    const v = unpickle(Buffer.from(h, 'hex'));
    assert.ok(v instanceof PyDict);
    const a = v.map.get('a');
    assert.ok(a instanceof PyList);
    const plain = a.items.map((x) => (x instanceof PyTuple ? x.items : x));
    assert.deepEqual(plain, [1, -2, 300, 70000, -(2 ** 40), 2n ** 70n, 1.5, -0.25, true, false, null, 'ü', ['x'], [1, 2], [1, 2, 3], [1, 2, 3, 4], []]);
    assert.equal(v.map.get('c'), a, 'memo references are shared, not copied');
    const b = v.map.get('b');
    assert.ok(b instanceof PyDict);
    assert.equal(b.map.get('n'), 1);
  }
});

test('damaged pickles are model_invalid', () => {
  const good = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 2, offset: 0, shape: [2], stride: [1] }]);
  for (const cut of [0, 1, 2, 10, 40, good.length - 1]) {
    assert.throws(
      () => unpickle(good.subarray(0, cut)),
      (e: unknown) => isVoicemoodError(e, 'model_invalid'),
      `cut at ${cut}`,
    );
  }
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([0x80, 2, 0x68, 5, 0x2e]), /never stored/], // BINGET of nothing
    [Buffer.from([0x80, 2, 0x30, 0x2e]), /empty stack/], // POP of nothing
    [Buffer.from([0x80, 2, 0x74, 0x2e]), /mark it never opened/],
    [Buffer.from([0x80, 2, 0x4b, 1, 0x4b, 2, 0x2e]), /malformed stack/],
    [Buffer.from([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61]), /ends in the middle/], // 2 GiB string in 8 bytes
    [Buffer.from([0x80, 9, 0x2e]), /protocol/],
    [Buffer.from([0x80, 2, 0x7d, 0x5d, 0x5d, 0x73, 0x2e]), /not a plain value/], // list as dict key
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(
      () => unpickle(bytes),
      (e: unknown) => isVoicemoodError(e, 'model_invalid') && pattern.test(e.message),
      pattern.source,
    );
  }
});

test('finds the state dict in the layouts a checkpoint may use', () => {
  const spec = { name: 'module.enc.w', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] };
  // Bare OrderedDict with a DistributedDataParallel "module." prefix: stripped.
  const bare = findStateDict(unpickle(stateDictPickle([spec])));
  assert.deepEqual([...bare.keys()], ['enc.w']);
  // Wrapped as {"model": OrderedDict}, tensor wrapped as a Parameter.
  const wrapped = findStateDict(unpickle(stateDictPickle([{ ...spec, name: 'enc.w', parameter: true }], 'model')));
  const t = wrapped.get('enc.w');
  assert.ok(t instanceof TensorRef);
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.stride, [3, 1]);
  assert.equal(t.storage.key, '0');
  assert.equal(t.storage.storageType, 'torch.FloatStorage');
  // Something that is no state dict at all.
  assert.throws(
    () => findStateDict(unpickle(Buffer.from('80027d71002e', 'hex'))),
    (e: unknown) => isVoicemoodError(e, 'model_invalid') && /no state dict/.test(e.message),
  );
});
