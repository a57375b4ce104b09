// voicemood's page: choose, drop or record audio, POST it to /api/v1/analyze, show the result.
// Plain ES module, no dependencies; everything it needs comes from /app/config.json.

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/app/config.json')).json();
const state = { lang: 'en', audio: null, result: null, recorder: null };

const initialLang = new URLSearchParams(location.search).get('lang') ?? localStorage.getItem('voicemood.lang') ?? (navigator.language.startsWith('zh') ? 'zh' : 'en');
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
  $('chosen').textContent = `${name} (${(blob.size / 1024).toFixed(0)} KB)`;
  setError(null);
}

$('lang').addEventListener('change', () => {
  state.lang = $('lang').value;
  localStorage.setItem('voicemood.lang', state.lang);
  applyStrings();
});

$('file').addEventListener('change', () => {
  const f = $('file').files[0];
  if (f) choose(f, f.name);
});

const zone = $('dropzone');
zone.addEventListener('dragover', (e) => {
  e.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) choose(f, f.name);
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

$('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  setError(null);
  if (!state.audio) {
    setError(t('noFile'));
    return;
  }
  if (state.audio.blob.size > config.maxBytes) {
    setError(t('tooLarge').replace('{mb}', String(Math.round((config.maxBytes / 1048576) * 10) / 10)));
    return;
  }
  const granularity = document.querySelector('input[name=granularity]:checked').value;
  const embedding = $('embedding').checked;
  const query = new URLSearchParams({ granularity, embedding: String(embedding), lang: state.lang });
  const headers = {};
  const key = $('apikey').value.trim();
  if (key) headers.authorization = `Bearer ${key}`;
  $('analyse').disabled = true;
  setStatus(t('analysing'));
  try {
    let res;
    try {
      res = await fetch(`/api/v1/analyze?${query}`, { method: 'POST', body: state.audio.blob, headers });
    } catch {
      setError(t('network'));
      setStatus('');
      return;
    }
    const body = await res.json().catch(() => null);
    if (!res.ok || !body) {
      setError(body?.error ?? `HTTP ${res.status}`);
      setStatus('');
      return;
    }
    state.result = body;
    showResult(body);
    setStatus('');
  } finally {
    $('analyse').disabled = false;
  }
});

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
  for (const row of rows) for (const v of row) (view.setFloat32(at, v, true), (at += 4));
  return new Blob([buf], { type: 'application/octet-stream' });
}

applyStrings();
