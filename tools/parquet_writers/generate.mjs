// Writes the FineVision-layout parquet reader fixtures (tests/fixtures/parquet) with independent writers:
//   DuckDB (its own C++ parquet writer, @duckdb/node-api) and arrow-rs (parquet-wasm, tables built with apache-arrow),
//   each with dictionary-encoded and with plain binary/string columns, 100-row row groups like FineVision's shards.
// The rows (rows.json, the expected values) come from a seeded generator and put a null everywhere FineVision's
// schema allows one. Parquet.Net's files are written from the same rows.json by parquetnet_writer.cs.
// Run: cd tools/parquet_writers && npm ci && node generate.mjs && dotnet run parquetnet_writer.cs
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';
import { Table as WasmTable, writeParquet, WriterPropertiesBuilder, Compression } from 'parquet-wasm';

const out = resolve(import.meta.dirname, '../../tests/fixtures/parquet');
mkdirSync(out, { recursive: true });
const ROWS = 230; // row groups of 100, 100, 30
const ROW_GROUP = 100;

// mulberry32: a small seeded generator, so the fixtures regenerate byte-identical rows.
let seed = 20261128;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const chance = (p) => rand() < p;

// Tiny "images": a pool of short byte strings (repeats make dictionary encoding worth it) plus some unique ones,
// and one empty (non-null) value. The reader hands on bytes; it does not decode them.
const pool = Array.from({ length: 6 }, (_, i) => Uint8Array.from({ length: 12 + 7 * i }, (_, k) => (i * 37 + k * 11) & 255));
const image = () => {
  if (chance(0.1)) return Uint8Array.from({ length: 5 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 256));
  if (chance(0.03)) return new Uint8Array(0);
  return pick(pool);
};
const questions = ['What is shown?', 'How many shapes?', 'Colour of the circle?', 'Read the text.', 'Describe the image.', 'Ünïcödé — 図の説明は?'];
const answers = ['A red square.', '3', 'blue', 'HELLO', 'Two circles and a line.', 'とても良い 👍'];
const sources = ['fixture_a', 'fixture_b'];

const rating = () => (chance(0.1) ? null : 1 + Math.floor(rand() * 5));
const rows = [];
for (let r = 0; r < ROWS; r++) {
  const turns = chance(0.05) ? null : chance(0.05) ? [] : Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
    chance(0.05) ? null : { user: chance(0.05) ? null : pick(questions), assistant: chance(0.05) ? null : pick(answers) });
  const images = chance(0.08) ? null : chance(0.08) ? [] : Array.from({ length: 1 + Math.floor(rand() * 2) }, () =>
    chance(0.04) ? null : { bytes: chance(0.04) ? null : image(), path: chance(0.5) ? null : `img_${r}.png` });
  const row = { images, texts: turns, source: chance(0.05) ? null : sources[r < 150 ? 0 : 1] };
  for (const name of ['relevance', 'image_correspondence', 'visual_dependency', 'formatting']) {
    const list = chance(0.06) ? null : (turns ?? []).map(rating);
    row[`${name}_ratings`] = list;
    const present = (list ?? []).filter((x) => x !== null);
    row[`${name}_min`] = present.length ? Math.min(...present) : null;
  }
  rows.push(row);
}
const b64 = (b) => (b === null ? null : Buffer.from(b).toString('base64'));
const jsonRows = rows.map((r) => ({ ...r, images: r.images?.map((i) => (i === null ? null : { bytes: b64(i.bytes), path: i.path })) ?? null }));
writeFileSync(join(out, 'rows.json'), JSON.stringify(jsonRows, null, 0) + '\n');

const ratingNames = ['relevance', 'image_correspondence', 'visual_dependency', 'formatting'];

// ---- DuckDB: FineVision's column order; rows read from JSON, base64 turned back into BLOBs. DuckDB closes a row
// group once it holds ROW_GROUP_SIZE rows, but only between the chunks its scans produce (up to 2,048 rows), so the
// rows are scanned from one JSON file per row group, in a UNION ALL that keeps their order.
async function duckdb(file, dictionary) {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  const ratingCols = ratingNames.map((n) => `${n}_ratings, ${n}_min`).join(', ');
  const ratingTypes = ratingNames.map((n) => `${n}_ratings: 'BIGINT[]', ${n}_min: 'BIGINT'`).join(', ');
  const path = join(out, file);
  rmSync(path, { force: true });
  const scans = [];
  for (let at = 0; at < ROWS; at += ROW_GROUP) {
    const part = join(tmpdir(), `nanovlm-parquet-rows-${at}.json`);
    writeFileSync(part, JSON.stringify(jsonRows.slice(at, at + ROW_GROUP)));
    scans.push(`SELECT list_transform(images, x -> CASE WHEN x IS NULL THEN NULL ELSE struct_pack(bytes := from_base64(x.bytes), path := x.path) END) AS images,
             texts, source, ${ratingCols}
      FROM read_json('${part}', format = 'array', records = true,
        columns = {images: 'STRUCT(bytes VARCHAR, path VARCHAR)[]', texts: 'STRUCT("user" VARCHAR, assistant VARCHAR)[]',
                   source: 'VARCHAR', ${ratingTypes}})`);
  }
  await c.run('SET preserve_insertion_order = true');
  await c.run(`COPY (${scans.join(' UNION ALL ')})
    TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE ${ROW_GROUP}, COMPRESSION snappy${dictionary ? '' : ', DICTIONARY_SIZE_LIMIT 0'})`);
  const meta = await c.runAndReadAll(`SELECT row_group_id, row_group_num_rows, path_in_schema, encodings FROM parquet_metadata('${path}')
    WHERE path_in_schema LIKE '%bytes%' OR path_in_schema LIKE '%user%' ORDER BY row_group_id`);
  console.log(file, JSON.stringify(meta.getRowObjectsJson()));
  c.closeSync();
}

// ---- arrow-rs: another column order (texts first, struct fields assistant-then-user, images after source).
function arrowRs(file, dictionary) {
  const turn = new arrow.Struct([new arrow.Field('assistant', new arrow.Utf8(), true), new arrow.Field('user', new arrow.Utf8(), true)]);
  const img = new arrow.Struct([new arrow.Field('bytes', new arrow.Binary(), true), new arrow.Field('path', new arrow.Utf8(), true)]);
  const list = (t) => new arrow.List(new arrow.Field('element', t, true));
  const i64 = new arrow.Int64();
  const big = (x) => (x === null ? null : BigInt(x));
  const columns = {
    texts: arrow.vectorFromArray(rows.map((r) => r.texts), list(turn)),
    source: arrow.vectorFromArray(rows.map((r) => r.source), new arrow.Utf8()),
    images: arrow.vectorFromArray(rows.map((r) => r.images), list(img)),
  };
  for (const n of ratingNames) {
    columns[`${n}_ratings`] = arrow.vectorFromArray(rows.map((r) => r[`${n}_ratings`]?.map(big) ?? null), list(i64));
    columns[`${n}_min`] = arrow.vectorFromArray(rows.map((r) => big(r[`${n}_min`])), i64);
  }
  const table = new arrow.Table(columns);
  const props = new WriterPropertiesBuilder().setMaxRowGroupSize(ROW_GROUP).setCompression(Compression.SNAPPY)
    .setDictionaryEnabled(dictionary).build();
  writeFileSync(join(out, file), writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
  console.log(file, 'written');
}

// ---- A column of the wrong type, as a writer that kept the base64 text would produce: images.bytes is a string.
async function duckdbWrongType(file) {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  const path = join(out, file);
  rmSync(path, { force: true });
  const part = join(tmpdir(), 'nanovlm-parquet-rows-wrong.json');
  writeFileSync(part, JSON.stringify(jsonRows.slice(0, 10)));
  await c.run(`COPY (SELECT images, texts, source FROM read_json('${part}', format = 'array', records = true,
      columns = {images: 'STRUCT(bytes VARCHAR, path VARCHAR)[]', texts: 'STRUCT("user" VARCHAR, assistant VARCHAR)[]', source: 'VARCHAR'}))
    TO '${path}' (FORMAT parquet)`);
  console.log(file, 'written');
  c.closeSync();
}

await duckdb('duckdb_dictionary.parquet', true);
await duckdb('duckdb_plain.parquet', false);
arrowRs('arrowrs_dictionary.parquet', true);
arrowRs('arrowrs_plain.parquet', false);
await duckdbWrongType('duckdb_wrong_type.parquet');
