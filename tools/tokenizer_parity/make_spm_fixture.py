#!/usr/bin/env python3
"""Parity fixture for the built-in default SentencePiece tokenizer, made with Debian's `spm_encode` (the reference
C++ implementation). spm_encode reads one sentence per line, so the strings are single-line; they cover the
training domain, unseen words, digits, Chinese/emoji (byte fallback), whitespace runs and the atomic
user-defined symbols (<|im_start|>, <|image|>, <row_i_col_j>...).

Usage: tools/tokenizer_parity/make_spm_fixture.py  (writes tests/fixtures/text/parity_default_spm.json)
"""
import json
import os
import subprocess

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
model = os.path.join(root, "src/Loader/Assets/default_tokenizer.model")
out = os.path.join(root, "tests/fixtures/text/parity_default_spm.json")

texts = [
    "How many red circles are in the image?",
    "There are 3 blue squares and 12 triangles.",
    "The image shows a small green star in the top left corner on a white background.",
    "What number is written in the image? The number is 9081726354.",
    "<|im_start|>user",
    "<|im_start|>assistant",
    "<|global_image|><|image|><|image|><row_1_col_1><|image|><row_8_col_8>",
    "text with <|im_end|> inside and <|image|> twice <|image|>",
    "half <|image| token <row_9_col_9>",
    "Unseen words: quixotic zephyr juxtaposition xylophone.",
    "Chinese: 图片里有几个红色的圆？",
    "Emoji: I love it 😀👍🏽! 🚀",
    "multiple     spaces   and\ttabs",
    "  leading and trailing  ",
    "café naïve façade résumé Ångström",
    "CAPITALS and MiXeD cAsE",
    "{\"key\": [1, 2, 3], \"ok\": true}",
    "It's the cat's toy; they're here, we've gone.",
    "<image: 0><|global_image|><image: 1>",
    "The numbers are 123 and 456, so the sum is 579.",
]
for i, t in enumerate(texts):
    assert "\n" not in t
ids = subprocess.run(["spm_encode", f"--model={model}", "--output_format=id"], input="\n".join(texts) + "\n",
                     capture_output=True, text=True, check=True).stdout.splitlines()
assert len(ids) == len(texts)
cases = [{"text": t, "ids": [int(x) for x in line.split()]} for t, line in zip(texts, ids)]
with open(out, "w", encoding="utf-8") as f:
    json.dump({"tokenizer": "src/Loader/Assets/default_tokenizer.model", "generator": "spm_encode (Debian sentencepiece)", "plain": cases}, f, ensure_ascii=False, indent=1)
print(f"wrote {len(cases)} cases to {out}")
