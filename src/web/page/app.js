// voicemood's page: choose, drop or record audio, POST it to /api/v1/analyze, show the result.
// Plain ES module, no dependencies; everything it needs comes from /app/config.json.

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/app/config.json')).json();
const state = { lang: 'en', audio: null, batch: null, result: null, batchResults: null, recorder: null };

const initialLang =
  new URLSearchParams(location.search).get('lang') ?? localStorage.getItem('voicemood.lang') ?? (navigator.language.startsWith('zh') ? 'zh' : 'en');
state.lang = initialLang === 'zh' ? 'zh' : 'en';
$('lang').value = state.lang;
$('keyRow').hidden = !config.authRequired;

function t(key) {
  return config.strings[state.lang][key] ?? config.strings.en[key];
}

function applyStrings() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  if (state.recorder) $('record').textContent = t('stop');
  if (state.result) showResult(state.result);
  if (state.batchResults) showBatch(state.batchResults);
}

function setStatus(text) {
  $('status').textContent = text;
}

function setError(text) {
  $('error').textContent = text ?? '';
  $('error').hidden = !text;
}

function choose(blob, name) {
  state.audio = { blob, name };
  state.batch = null;
  $('chosen').textContent = `${name} (${(blob.size / 1024).toFixed(0)} KB)`;
  setError(null);
}

function chooseFiles(files) {
  if (files.length === 1) choose(files[0], files[0].name);
  else if (files.length > 1) {
    state.batch = [...files].map((f) => ({ blob: f, name: f.name }));
    state.audio = null;
    $('chosen').textContent = t('files').replace('{n}', String(files.length));
    setError(null);
  }
}

$('lang').addEventListener('change', () => {
  state.lang = $('lang').value;
  localStorage.setItem('voicemood.lang', state.lang);
  applyStrings();
});

$('file').addEventListener('change', () => chooseFiles($('file').files));

const zone = $('dropzone');
zone.addEventListener('dragover', (e) => {
  e.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  chooseFiles(e.dataTransfer.files);
});

$('record').addEventListener('click', async () => {
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    setError(t('micDenied'));
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  recorder.addEventListener('dataavailable', (e) => chunks.push(e.data));
  recorder.addEventListener('stop', () => {
    for (const track of stream.getTracks()) track.stop();
    state.recorder = null;
    $('record').textContent = t('record');
    const type = recorder.mimeType || 'audio/webm';
    const ext = type.includes('ogg') ? 'ogg' : type.includes('mp4') ? 'm4a' : 'webm';
    choose(new Blob(chunks, { type }), `${t('recorded')}.${ext}`);
    setStatus('');
  });
  recorder.start();
  state.recorder = recorder;
  $('record').textContent = t('stop');
  setStatus(t('recording'));
});

const mb = () => String(Math.round((config.maxBytes / 1048576) * 10) / 10);

/** One POST to the API: { ok, status, body, retryAfterS }, or { network: true } when unreachable. */
async function analyse(blob, granularity, embedding) {
  const query = new URLSearchParams({ granularity, embedding: String(embedding), lang: state.lang });
  const headers = {};
  const key = $('apikey').value.trim();
  if (key) headers.authorization = `Bearer ${key}`;
  let res;
  try {
    res = await fetch(`/api/v1/analyze?${query}`, { method: 'POST', body: blob, headers });
  } catch {
    return { network: true };
  }
  const body = await res.json().catch(() => null);
  return { ok: res.ok && body !== null, status: res.status, body, retryAfterS: Number(res.headers.get('retry-after')) || 0 };
}

$('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  setError(null);
  if (!state.audio && !state.batch) {
    setError(t('noFile'));
    return;
  }
  const granularity = document.querySelector('input[name=granularity]:checked').value;
  const embedding = $('embedding').checked;
  $('analyse').disabled = true;
  try {
    // One of the two result sections at a time; each is shown once it has something to show.
    if (state.batch) $('result').hidden = true;
    else $('batch').hidden = true;
    if (state.batch) {
      state.result = null;
      await runBatch(state.batch, granularity, embedding);
      return;
    }
    state.batchResults = null;
    if (state.audio.blob.size > config.maxBytes) {
      setError(t('tooLarge').replace('{mb}', mb()));
      return;
    }
    setStatus(t('analysing'));
    const r = await analyse(state.audio.blob, granularity, embedding);
    setStatus('');
    if (r.network) setError(t('network'));
    else if (!r.ok) setError(r.body?.error ?? `HTTP ${r.status}`);
    else {
      state.result = r.body;
      showResult(r.body);
    }
  } finally {
    $('analyse').disabled = false;
  }
});

// Several files: one at a time (the server's engine is shared), waiting out 429s, then a JSON
// Lines download and a 2-D map of the embeddings.
async function runBatch(files, granularity, embedding) {
  const items = files.map((f) => ({ name: f.name, state: 'waiting', result: null, error: null }));
  state.batchResults = { items, embedding };
  showBatch(state.batchResults);
  for (const item of items) {
    const file = files[items.indexOf(item)];
    item.state = 'analysing';
    showBatch(state.batchResults);
    if (file.blob.size > config.maxBytes) {
      Object.assign(item, { state: 'failed', error: t('tooLarge').replace('{mb}', mb()), code: 'too_large' });
      continue;
    }
    let r;
    for (let attempt = 0; ; attempt++) {
      // The map needs an embedding, so it is always asked for; the download keeps it only if ticked.
      r = await analyse(file.blob, granularity, true);
      if (r.status !== 429 || attempt >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(60, Math.max(1, r.retryAfterS)) * 1000));
    }
    if (r.network) Object.assign(item, { state: 'failed', error: t('network'), code: 'network' });
    else if (!r.ok) Object.assign(item, { state: 'failed', error: r.body?.error ?? `HTTP ${r.status}`, code: r.body?.code ?? 'internal' });
    else Object.assign(item, { state: 'done', result: r.body });
    showBatch(state.batchResults);
  }
}

function showBatch({ items, embedding }) {
  $('batch').hidden = false;
  const done = items.filter((i) => i.state === 'done' || i.state === 'failed').length;
  const ok = items.filter((i) => i.state === 'done');
  $('batchStatus').textContent =
    done < items.length
      ? t('batchProgress').replace('{done}', String(done)).replace('{n}', String(items.length))
      : t('batchDone')
          .replace('{ok}', String(ok.length))
          .replace('{failed}', String(items.length - ok.length));
  $('batchList').replaceChildren(
    ...items.map((i) => {
      const li = document.createElement('li');
      li.className = i.state;
      const what =
        i.state === 'done'
          ? `${emotionOf(i.result.emotion).emoji} ${emotionOf(i.result.emotion).label[state.lang]} ${pct(i.result.confidence)}`
          : i.state === 'failed'
            ? `✗ ${i.error}`
            : i.state === 'analysing'
              ? t('analysing')
              : t('waiting');
      li.textContent = `${i.name} — ${what}`;
      return li;
    }),
  );
  const finished = done === items.length;
  $('dlJsonl').hidden = !finished;
  if (finished) {
    const lines = items.map((i) => {
      if (i.state !== 'done') return JSON.stringify({ input: i.name, error: i.error, code: i.code });
      const { label, embedding: vector, ...fields } = i.result;
      return JSON.stringify({ input: i.name, ...fields, ...(embedding ? { embedding: vector } : {}) });
    });
    setLink($('dlJsonl'), new Blob([`${lines.join('\n')}\n`], { type: 'application/x-ndjson' }));
  }
  const points = ok.map((i) => ({ name: i.name, emotion: i.result.emotion, vector: meanRow(i.result.embedding) }));
  if (finished && points.length >= 2) $('map').replaceChildren(mapSvg(points));
  else if (finished) $('map').textContent = t('mapTooFew');
  else $('map').replaceChildren();
}

/** An utterance embedding as it is; a frame embedding [T][D] as the mean of its rows. */
function meanRow(e) {
  if (!Array.isArray(e[0])) return e;
  const out = new Array(e[0].length).fill(0);
  for (const row of e) for (let j = 0; j < row.length; j++) out[j] += row[j] / e.length;
  return out;
}

/**
 * Principal components of a few vectors: the top two eigenvectors of the n×n Gram matrix of the
 * centred rows (power iteration with deflation), scaled by √λ — the same coordinates as PCA on
 * the D×D covariance, computed in the small dimension.
 */
function pca2(rows) {
  const n = rows.length;
  const d = rows[0].length;
  const mean = new Array(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const x = rows.map((r) => r.map((v, j) => v - mean[j]));
  const g = x.map((a) => x.map((b) => a.reduce((s, v, j) => s + v * b[j], 0)));
  const coords = rows.map(() => [0, 0]);
  for (let c = 0; c < 2; c++) {
    let v = Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 13) / 13); // fixed, not random: the same map every time
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const w = g.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));
      const norm = Math.hypot(...w);
      if (norm < 1e-12) break;
      lambda = norm;
      v = w.map((a) => a / norm);
    }
    for (let i = 0; i < n; i++) coords[i][c] = v[i] * Math.sqrt(lambda);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i][j] -= lambda * v[i] * v[j];
  }
  return coords;
}

function mapSvg(points) {
  const ns = 'http://www.w3.org/2000/svg';
  const coords = pca2(points.map((p) => p.vector));
  const span = (k) => {
    const vals = coords.map((c) => c[k]);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    return (v) => (hi - lo < 1e-12 ? 50 : 8 + ((v - lo) / (hi - lo)) * 84);
  };
  const sx = span(0);
  const sy = span(1);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 100 100');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('map'));
  points.forEach((p, i) => {
    const e = emotionOf(p.emotion);
    const dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', sx(coords[i][0]).toFixed(2));
    dot.setAttribute('cy', (100 - sy(coords[i][1])).toFixed(2));
    dot.setAttribute('r', '2.5');
    dot.setAttribute('fill', e.color);
    dot.setAttribute('stroke', '#333');
    dot.setAttribute('stroke-width', '0.3');
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${p.name}: ${e.label[state.lang]}`;
    dot.append(title);
    svg.append(dot);
  });
  return svg;
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;
const emotionOf = (id) => config.emotions.find((e) => e.id === id);

function showResult(r) {
  const top = emotionOf(r.emotion);
  $('emoji').textContent = top.emoji;
  $('label').textContent = top.label[state.lang];
  $('confidence').textContent = pct(r.confidence);
  $('duration').textContent = `${r.duration_s.toFixed(2)} s`;
  $('format').textContent = r.format;
  const bars = $('bars');
  bars.replaceChildren(
    ...config.emotions.map((e) => {
      const li = document.createElement('li');
      li.dataset.emotion = e.id;
      const name = document.createElement('span');
      name.textContent = `${e.emoji} ${e.label[state.lang]}`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.setAttribute('role', 'img');
      bar.setAttribute('aria-label', `${e.label[state.lang]} ${pct(r.scores[e.id])}`);
      const fill = document.createElement('span');
      fill.style.width = `${(r.scores[e.id] * 100).toFixed(2)}%`;
      fill.style.background = e.color;
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'pct';
      value.textContent = pct(r.scores[e.id]);
      li.append(name, bar, value);
      return li;
    }),
  );
  const frames = r.frames ?? [];
  $('timelineBox').hidden = frames.length === 0;
  if (frames.length) $('timeline').replaceChildren(timelineSvg(frames, r.duration_s));
  const json = { ...r };
  delete json.embedding;
  delete json.label;
  setLink($('dlJson'), new Blob([`${JSON.stringify(json, null, 2)}\n`], { type: 'application/json' }));
  $('dlNpy').hidden = !r.embedding;
  if (r.embedding) setLink($('dlNpy'), npy(r.embedding));
  $('result').hidden = false;
}

function setLink(a, blob) {
  if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(blob);
}

// One column per slice of time, coloured by the emotion with the highest mean score in it.
function timelineSvg(frames, durationS) {
  const ns = 'http://www.w3.org/2000/svg';
  const columns = Math.min(frames.length, 300);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${columns} 10`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const names = [];
  for (let c = 0; c < columns; c++) {
    const from = Math.floor((c * frames.length) / columns);
    const to = Math.max(from + 1, Math.floor(((c + 1) * frames.length) / columns));
    let best = config.emotions[0];
    let bestSum = -1;
    for (const e of config.emotions) {
      let sum = 0;
      for (let i = from; i < to; i++) sum += frames[i].scores[e.id];
      if (sum > bestSum) [best, bestSum] = [e, sum];
    }
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', String(c));
    rect.setAttribute('y', '0');
    rect.setAttribute('width', '1.02');
    rect.setAttribute('height', '10');
    rect.setAttribute('fill', best.color);
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${frames[from].time.toFixed(2)} s: ${best.label[state.lang]}`;
    rect.append(title);
    svg.append(rect);
    if (names.at(-1) !== best.label[state.lang]) names.push(best.label[state.lang]);
  }
  svg.setAttribute('aria-label', `${t('timeline')} (0–${durationS.toFixed(1)} s): ${names.join(' → ')}`);
  return svg;
}

// NumPy .npy v1.0, '<f4', C order: [D] becomes [1, D], [T][D] stays [T, D] (as the CLI writes it).
function npy(embedding) {
  const rows = Array.isArray(embedding[0]) ? embedding : [embedding];
  const shape = [rows.length, rows[0]?.length ?? 0];
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const headerLen = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
  const header = `${dict}${' '.repeat(headerLen - dict.length - 1)}\n`;
  const buf = new ArrayBuffer(10 + headerLen + shape[0] * shape[1] * 4);
  const bytes = new Uint8Array(buf);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(buf);
  view.setUint16(8, headerLen, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  let at = 10 + headerLen;
  for (const row of rows) {
    for (const v of row) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return new Blob([buf], { type: 'application/octet-stream' });
}

applyStrings();
