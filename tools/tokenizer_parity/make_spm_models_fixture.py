#!/usr/bin/env python3
"""Parity fixtures for NanoVlm.NET's own SentencePiece BPE encoder, from Debian's `spm_train` / `spm_encode`
(sentencepiece 0.1.97, the reference C++ implementation; apt package `sentencepiece`).

Writes, under tests/fixtures/text/:
  parity_default_spm_random.json  400 seeded random single-line strings on the built-in default model
                                  (src/Loader/Assets/default_tokenizer.model): unicode, digits, whitespace runs,
                                  emoji and CJK (byte fallback), literal U+2581, the user-defined symbols whole and cut.
  spm_options/<name>.model        tiny BPE models trained here (identity rule) with the normalizer options the
  parity_spm_<name>.json          default model does not use, and the strings above plus option-specific ones:
     dummy      add_dummy_prefix + remove_extra_whitespaces (spm_train's defaults), no byte fallback (<unk> runs),
                user-defined symbols "@@" and "x y" (one with a space);
     suffix     treat_whitespace_as_suffix, byte fallback, and the 24 best-scoring merged pieces rewritten as UNUSED
                (bpe_model.cc splits merged UNUSED pieces back into their parts);
     noescape   the `suffix` model with normalizer_spec.escape_whitespaces rewritten to false (spm_train has no flag);
     unigram, bpe_rules   models NanoVlm.NET encodes with Microsoft.ML.Tokenizers (a unigram model, with its
                spm_encode ids; a BPE model with a precompiled_charsmap from a small rule TSV: fullwidth a-z, ①, ﬁ).
Deterministic for a given sentencepiece version.

Usage: tools/tokenizer_parity/make_spm_models_fixture.py
"""
import json
import os
import random
import subprocess
import tempfile

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
fixtures = os.path.join(root, "tests/fixtures/text")
default_model = os.path.join(root, "src/Loader/Assets/default_tokenizer.model")
models_dir = os.path.join(fixtures, "spm_options")


# --- random strings -------------------------------------------------------------------------------------------
def random_texts(seed, count, symbols):
    rng = random.Random(seed)
    words = ["the", "image", "red", "circle", "square", "How", "many", "are", "there", "in", "top", "left",
             "corner", "quixotic", "zephyr", "Straße", "naïve", "ÅNGSTRÖM", "über", "x", "y", "@", "a"]
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        "  \t",
        ".,;:!?'\"()[]{}<>|_-+=*/\\#$%&^~`@",
        "éèêëàâäçñöüßÅØæœ",
        "图片里有几个红色的圆片",
        "Привет мир",
        "\u2581\u3000\u00a0\u200b\u200d",
        "😀👍🏽🚀🇩🇪👨‍👩‍👧",
    ]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.35:
                parts.append(rng.choice(words))
            elif r < 0.45 and symbols:
                s = rng.choice(symbols)
                parts.append(s if rng.random() < 0.7 else s[: rng.randint(1, len(s) - 1)])
            elif r < 0.6:
                parts.append(" " * rng.randint(1, 5))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        if rng.random() < 0.2:
            parts.insert(0, " " * rng.randint(1, 3))
        if rng.random() < 0.2:
            parts.append(" " * rng.randint(1, 3))
        texts.append("".join(parts) if rng.random() < 0.5 else " ".join(parts))
    # spm_encode reads one sentence per line; a string that is only whitespace stays (its ids may be empty)
    return [t for t in texts if "\n" not in t and "\r" not in t and t != ""]


def spm_encode(model, texts):
    out = subprocess.run(["spm_encode", f"--model={model}", "--output_format=id"], input="\n".join(texts) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[-1] == "" and len(out) == len(texts) + 1, (len(out), len(texts))
    return [[int(x) for x in line.split()] for line in out[:-1]]


def write_fixture(name, model_rel, texts):
    ids = spm_encode(os.path.join(root, model_rel), texts)
    cases = [{"text": t, "ids": i} for t, i in zip(texts, ids)]
    path = os.path.join(fixtures, f"parity_{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"tokenizer": model_rel, "generator": "spm_encode (Debian sentencepiece 0.1.97)", "plain": cases},
                  f, ensure_ascii=False, indent=1)
    print(f"wrote {len(cases)} cases to {path}")


# --- protobuf rewriting (wire format, just enough for ModelProto) -------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(buf):
    """Yields (field, wire_type, raw_field_bytes, payload) for every field of a message."""
    i = 0
    while i < len(buf):
        start = i
        tag, i = read_varint(buf, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = read_varint(buf, i)
            payload = None
        elif wire == 1:
            i += 8
            payload = None
        elif wire == 5:
            i += 4
            payload = None
        elif wire == 2:
            n, i = read_varint(buf, i)
            payload = buf[i:i + n]
            i += n
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, buf[start:i], payload


def length_delimited(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def rewrite(src, dst, unused_ids=(), normalizer_extra=b""):
    """Copies a ModelProto, marking pieces UNUSED (SentencePiece.type = 3 -> 5) and appending fields to
    normalizer_spec (protobuf: the last occurrence of a scalar field wins)."""
    data = open(src, "rb").read()
    out = bytearray()
    piece = 0
    for field, wire, raw, payload in fields(data):
        if field == 1:
            if piece in unused_ids:
                raw = length_delimited(1, payload + varint(3 << 3 | 0) + varint(5))
            piece += 1
        elif field == 3 and normalizer_extra:
            raw = length_delimited(3, payload + normalizer_extra)
        out += raw
    open(dst, "wb").write(out)


def pieces_of(path):
    """(piece, score, type) of every piece."""
    import struct
    result = []
    for field, _, _, payload in fields(open(path, "rb").read()):
        if field != 1:
            continue
        piece, score, ptype = "", 0.0, 1
        for f, w, raw, p in fields(payload):
            if f == 1:
                piece = p.decode("utf-8")
            elif f == 2:
                score = struct.unpack("<f", raw[-4:])[0]
            elif f == 3:
                ptype = read_varint(raw, 1)[0]
        result.append((piece, score, ptype))
    return result


def train(work, prefix, extra, model_type="bpe"):
    # relative paths: trainer_spec records input and model_prefix, so the bytes do not depend on the temp folder
    subprocess.run(["spm_train", "--input=corpus.txt", f"--model_prefix={prefix}", f"--model_type={model_type}",
                    "--vocab_size=400", "--character_coverage=1.0", "--normalization_rule_name=identity",
                    "--num_threads=1", "--minloglevel=1"] + extra, check=True, cwd=work)


def main():
    default_symbols = ["<|im_start|>", "<|im_end|>", "<|image|>", "<|global_image|>", "<row_3_col_4>", "<row_8_col_8>"]
    write_fixture("default_spm_random", "src/Loader/Assets/default_tokenizer.model",
                  random_texts(20261128, 400, default_symbols))

    os.makedirs(models_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus.txt")
        subprocess.run(["python3", os.path.join(root, "tools/default_tokenizer/make_corpus.py"), corpus, "3000"], check=True)
        # dummy: spm_train's normalizer defaults (dummy prefix, extra-whitespace removal), no byte fallback
        train(work, "dummy", ["--user_defined_symbols=@@,x y"])
        # suffix: whitespace as suffix, byte fallback
        train(work, "suffix_trained", ["--treat_whitespace_as_suffix=true", "--byte_fallback=true",
                                                              "--remove_extra_whitespaces=false"])
        trained = os.path.join(work, "suffix_trained.model")
        merged = [i for i, (p, s, t) in enumerate(pieces_of(trained)) if t == 1 and len(p) > 1]
        merged.sort(key=lambda i: -pieces_of(trained)[i][1])
        rewrite(trained, os.path.join(work, "suffix.model"), unused_ids=set(merged[:24]))
        # noescape: the suffix model with normalizer_spec.escape_whitespaces (field 5) = false
        rewrite(os.path.join(work, "suffix.model"), os.path.join(work, "noescape.model"), normalizer_extra=varint(5 << 3 | 0) + varint(0))
        # models NanoVlm.NET leaves to Microsoft.ML.Tokenizers: unigram, and BPE with character rules (a few rules in
        # a TSV of code points, not nmt_nfkc, to keep the precompiled_charsmap small)
        train(work, "unigram", [], model_type="unigram")
        rules = [(0xFF41 + i, 0x61 + i) for i in range(26)] + [(0x2460, 0x31), (0xFB01, "66 69")]
        with open(os.path.join(work, "rules.tsv"), "w") as f:
            for src, dst in rules:
                f.write(f"{src:X}\t{dst if isinstance(dst, str) else format(dst, 'X')}\n")
        train(work, "bpe_rules", ["--normalization_rule_tsv=rules.tsv"])
        for name in ["dummy", "suffix", "noescape", "unigram", "bpe_rules"]:
            with open(os.path.join(work, f"{name}.model"), "rb") as f, open(os.path.join(models_dir, f"{name}.model"), "wb") as g:
                g.write(f.read())

    option_texts = ["  leading, trailing and   inner   spaces  ", "x y and x  y and @@@@ and @@", "\u2581already escaped\u2581",
                    "   ", "a", " a", "a ", "tab\tand  space", "unknown 图片 and 😀 characters", "the red circle is above the blue square"]
    for name in ["dummy", "suffix", "noescape"]:
        write_fixture(f"spm_{name}", f"tests/fixtures/text/spm_options/{name}.model",
                      option_texts + random_texts(7 + len(name), 150, ["@@", "x y"]))
    for name in ["unigram"]:
        write_fixture(f"spm_{name}", f"tests/fixtures/text/spm_options/{name}.model",
                      option_texts + ["ｆｕｌｌｗｉｄｔｈ ① ﬁ", "the red circle is above the blue square and the green star"])


if __name__ == "__main__":
    main()
