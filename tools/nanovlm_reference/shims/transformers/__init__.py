# Run-time stand-in for HF `transformers`, which Debian does not package: nanoVLM's data/processors.py imports
# `AutoTokenizer` from it, and gets our SentencePiece wrapper (spm_tokenizer.py) around the project's built-in
# default tokenizer instead. Only what nanoVLM's data path calls is offered.
from .spm_tokenizer import AutoTokenizer  # noqa: F401
