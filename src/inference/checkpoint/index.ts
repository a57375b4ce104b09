/**
 * Checkpoint reader: opens an official emotion2vec+ checkpoint folder without Python and without
 * executing anything from it.
 *
 *   const ckpt = await openCheckpoint(dir);          // dir holds model.pt, config.yaml, tokens.txt
 *   ckpt.config                                      // Emotion2vecConfig (embedDim, numHeads, featureEncoderSpec, …)
 *   ckpt.labels                                      // { en: ['angry', …, 'unknown'], zh: ['生气', …, '未知'], masked: [false, …] }
 *   ckpt.sha256                                      // hex sha256 of model.pt
 *   const w = expectTensor(ckpt, 'proj.weight', [9, D]); // throws 'checkpoint_mismatch' naming key and shapes
 *   const values = await w.read();                   // Float32Array, row-major; reads only this tensor's bytes
 *   await ckpt.close();
 *
 * model.pt is a torch.save zip archive (zip64 supported): `<root>/data.pkl` is interpreted by a
 * safe unpickler that knows only collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and the torch.*Storage types; any other global →
 * VoicemoodError('unsafe_checkpoint'). Damaged archives, pickles or configs →
 * VoicemoodError('model_invalid'); a missing file → 'model_missing'.
 * Lower layers (openZip, unpickle, parse functions) are exported for tests and tools.
 */
export { openCheckpoint, expectTensor, sha256File, type Checkpoint } from './open.ts';
export { parseEmotion2vecConfig, type Emotion2vecConfig } from './config.ts';
export { parseConvSpec, type ConvLayerSpec } from './convSpec.ts';
export { parseTokens, type CheckpointLabels } from './tokens.ts';
export { MAX_TENSOR_ELEMENTS, type Dtype, type LazyTensor } from './tensor.ts';
export { readStateDict, findStateDict } from './stateDict.ts';
export { openZip, type ZipArchive, type ZipEntry } from './zip.ts';
export { bufferSource, fileSource, type RandomAccessSource } from './source.ts';
export { unpickle, ALLOWED_GLOBALS, type PyValue } from './pickle.ts';
