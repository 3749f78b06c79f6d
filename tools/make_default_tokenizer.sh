#!/usr/bin/env bash
# Rebuilds src/Loader/Assets/default_tokenizer.model (NanoVlm.NET's built-in default tokenizer).
# Requires Debian's `sentencepiece` package (spm_train) and python3. Deterministic for a given
# sentencepiece version: the corpus comes from a seeded generator and training uses one thread.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/tools/default_tokenizer/make_corpus.py" "$work/corpus.txt" 200000
# ChatML markers and nanoVLM's 66 extra tokens are user-defined (atomic) pieces, so they get fixed ids.
symbols="<|im_start|>,<|im_end|>,<|image|>,<|global_image|>"
for i in 1 2 3 4 5 6 7 8; do for j in 1 2 3 4 5 6 7 8; do symbols="$symbols,<row_${i}_col_${j}>"; done; done
spm_train \
  --input="$work/corpus.txt" \
  --model_prefix="$work/default_tokenizer" \
  --model_type=bpe \
  --vocab_size=6000 \
  --character_coverage=1.0 \
  --byte_fallback=true \
  --split_digits=true \
  --add_dummy_prefix=false \
  --remove_extra_whitespaces=false \
  --normalization_rule_name=identity \
  --allow_whitespace_only_pieces=true \
  --split_by_whitespace=true \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --user_defined_symbols="$symbols" \
  --num_threads=1 \
  --minloglevel=1
mkdir -p "$root/src/Loader/Assets"
cp "$work/default_tokenizer.model" "$root/src/Loader/Assets/default_tokenizer.model"
ls -l "$root/src/Loader/Assets/default_tokenizer.model"
