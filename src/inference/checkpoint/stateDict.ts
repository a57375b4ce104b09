/**
 * Finds the state dict inside a torch.save archive and describes its tensors lazily.
 *
 * Archive layout (torch ≥ 1.6): `<root>/data.pkl` (the pickle), `<root>/data/<key>` (one raw
 * little-endian storage per key), optionally `<root>/byteorder` ("little") and `<root>/version`.
 *
 * Accepted pickle layouts, in this order:
 *   1. the state dict itself: a dict / OrderedDict of name → tensor (what emotion2vec+ ships);
 *   2. a wrapper dict without tensors of its own whose `state_dict`, `model`, `model_state_dict`,
 *      `module` or `net` value is such a state dict (training checkpoints).
 * Non-tensor values of the state dict are ignored. When every tensor name starts with
 * `module.` (a DistributedDataParallel save), the prefix is removed.
 */
import { VoicemoodError } from '../../domain/errors.ts';
import { PyDict, TensorRef, unpickle, type PyValue } from './pickle.ts';
import { STORAGE_DTYPES, materialise, tensorLayout, type LazyTensor } from './tensor.ts';
import type { ZipArchive, ZipEntry } from './zip.ts';

const WRAPPER_KEYS = ['state_dict', 'model', 'model_state_dict', 'module', 'net'];

function invalid(sentence: string, details: Record<string, unknown> = {}): VoicemoodError {
  return new VoicemoodError('model_invalid', `model.pt is not a usable checkpoint: ${sentence}`, { details });
}

function hasTensors(v: PyValue): v is PyDict {
  if (!(v instanceof PyDict)) return false;
  for (const x of v.map.values()) if (x instanceof TensorRef) return true;
  return false;
}

/** The dict of tensors inside the unpickled value (see the accepted layouts above). */
export function findStateDict(root: PyValue): Map<string, TensorRef> {
  let dict: PyDict | undefined;
  if (hasTensors(root)) dict = root;
  else if (root instanceof PyDict) {
    for (const key of WRAPPER_KEYS) {
      const inner = root.map.get(key);
      if (hasTensors(inner ?? null)) {
        dict = inner as PyDict;
        break;
      }
    }
  }
  if (!dict) throw invalid('it holds no state dict of tensors.');
  const tensors = new Map<string, TensorRef>();
  for (const [k, v] of dict.map) if (typeof k === 'string' && v instanceof TensorRef) tensors.set(k, v);
  const names = [...tensors.keys()];
  if (names.length > 0 && names.every((n) => n.startsWith('module.'))) {
    return new Map([...tensors].map(([k, v]) => [k.slice('module.'.length), v]));
  }
  return tensors;
}

/** The `<root>/` prefix of the archive: the folder holding the one data.pkl. */
function archiveRoot(archive: ZipArchive): string {
  const pickles = [...archive.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) throw invalid(pickles.length === 0 ? 'it has no data.pkl.' : 'it has more than one data.pkl.');
  return pickles[0].slice(0, -'data.pkl'.length);
}

/** Reads data.pkl and returns every tensor of the state dict, not yet read. */
export async function readStateDict(archive: ZipArchive): Promise<Map<string, LazyTensor>> {
  const root = archiveRoot(archive);
  const byteorder = archive.entries.get(`${root}byteorder`);
  if (byteorder) {
    const order = (await archive.read(byteorder)).toString('latin1').trim();
    if (order !== 'little') throw invalid(`its tensors are stored ${order === 'big' ? 'big-endian' : 'in an unknown byte order'}, which is not supported.`);
  }
  const pkl = archive.entries.get(`${root}data.pkl`) as ZipEntry;
  const refs = findStateDict(unpickle(await archive.read(pkl)));

  const tensors = new Map<string, LazyTensor>();
  for (const [name, ref] of refs) {
    const entry = archive.entries.get(`${root}data/${ref.storage.key}`);
    if (!entry) throw invalid(`the storage of ${name} is missing from the archive.`, { key: ref.storage.key });
    const { itemSize } = STORAGE_DTYPES[ref.storage.storageType];
    if (entry.size !== ref.storage.numel * itemSize) {
      throw invalid(`the storage of ${name} has ${entry.size} bytes where ${ref.storage.numel * itemSize} were expected.`);
    }
    const layout = tensorLayout(name, ref);
    tensors.set(name, {
      name,
      dtype: layout.dtype,
      shape: layout.shape,
      size: layout.size,
      async read() {
        const bytes = await archive.read(entry, layout.byteStart, layout.byteLength);
        return materialise(layout, bytes);
      },
    });
  }
  return tensors;
}
