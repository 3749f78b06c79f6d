"""Lets huggingface/nanoVLM's own models/*.py run on Debian 12's python3-torch 1.13 (no PyPI, no network).

Call install(image_token_id, eos_token_id) BEFORE importing `models.vision_language_model`.

Three stand-ins, each for something nanoVLM imports that torch 1.13 / Debian does not provide:

1. torch.nn.functional.scaled_dot_product_attention (torch >= 2.0). nanoVLM probes for it with hasattr and
   passes attn_mask AND is_causal together in its prefill; torch's math backend refuses that combination while
   the CUDA kernels apply both, so this version applies both (causal -inf above the diagonal, then the mask).
   q and k are each scaled by sqrt(scale) before the product, as torch's math kernel does.
2. safetensors / safetensors.torch (no Debian package): see st_format.py for the file format and
   st_torch.py for save_model / load_model with the library's shared-tensor rules.
3. data.processors.get_tokenizer (imports transformers): a stub carrying only the ids the model code reads.
"""
import math
import sys
import types

import torch
import torch.nn.functional as F

import st_format
import st_torch


def sdpa_math(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    """torch>=2 math reference of F.scaled_dot_product_attention that accepts attn_mask together with is_causal."""
    n_q, n_k = query.size(-2), key.size(-2)
    if enable_gqa:
        group = query.size(-3) // key.size(-3)
        key = key.repeat_interleave(group, dim=-3)
        value = value.repeat_interleave(group, dim=-3)
    factor = math.sqrt(1.0 / math.sqrt(query.size(-1)) if scale is None else scale)
    scores = (query * factor) @ (key * factor).transpose(-2, -1)
    bias = torch.zeros(n_q, n_k, dtype=query.dtype, device=query.device)
    if is_causal:
        upper = torch.ones(n_q, n_k, dtype=torch.bool, device=query.device).triu(diagonal=1)
        bias = bias.masked_fill(upper, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(~attn_mask, float("-inf"))
        else:
            bias = bias + attn_mask.to(query.dtype)
    weights = torch.softmax(scores + bias, dim=-1)
    if dropout_p > 0.0:
        weights = torch.dropout(weights, dropout_p, train=True)
    return weights @ value


class TokenizerStub:
    """What VisionLanguageModel reads from its tokenizer: image_token_id (merge) and eos_token_id (generate)."""

    def __init__(self, image_token_id, eos_token_id):
        self.image_token_id = image_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = eos_token_id   # data/processors.py: tokenizer.pad_token = tokenizer.eos_token
        self.image_token = "<|image|>"
        self.global_image_token = "<|global_image|>"


_token_ids = {"image_token_id": None, "eos_token_id": None}


def set_token_ids(image_token_id, eos_token_id):
    """The ids the next constructed VisionLanguageModel's tokenizer stub will carry."""
    _token_ids["image_token_id"] = int(image_token_id)
    _token_ids["eos_token_id"] = int(eos_token_id)


def _get_tokenizer(name, extra_special_tokens=None, chat_template=None):
    if _token_ids["image_token_id"] is None:
        raise RuntimeError("nanovlm_shim.set_token_ids(...) must be called before building a model")
    return TokenizerStub(_token_ids["image_token_id"], _token_ids["eos_token_id"])


def install(image_token_id, eos_token_id):
    """Patches torch and registers the stand-in modules; returns {what: how} for reports."""
    done = {}
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = sdpa_math
        done["F.scaled_dot_product_attention"] = "math reference applying attn_mask and is_causal together"
    st = types.ModuleType("safetensors")
    stt = types.ModuleType("safetensors.torch")
    for fn in (st_torch.save_file, st_torch.load_file, st_torch.save_model, st_torch.load_model,
               st_torch.save, st_torch.load):
        setattr(stt, fn.__name__, fn)
    st.safe_open = st_torch.safe_open
    st.torch = stt
    sys.modules["safetensors"] = st
    sys.modules["safetensors.torch"] = stt
    done["safetensors"] = "st_format.py / st_torch.py (numpy + json, byte-identical to the Rust serializer)"
    set_token_ids(image_token_id, eos_token_id)
    data_pkg = types.ModuleType("data")
    data_pkg.__path__ = []
    processors = types.ModuleType("data.processors")
    processors.get_tokenizer = _get_tokenizer
    data_pkg.processors = processors
    sys.modules["data"] = data_pkg
    sys.modules["data.processors"] = processors
    done["data.processors.get_tokenizer"] = "stub with image_token_id / eos_token_id / pad_token_id"
    st_format.self_test()
    done["safetensors_self_test"] = "Rust serializer test vectors reproduced byte for byte"
    return done
