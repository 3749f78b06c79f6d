"""Makes torch 1.13's CPU autocast compute what nanoVLM's train.py computes under CUDA autocast (bf16).

torch 1.13's CPU autocast lowers linear, matmul/bmm/addmm/baddbmm and conv2d to bf16 like CUDA's, and runs
cross_entropy in float32 like CUDA's (checked by check_cpu_autocast() on every run). Where it differs from CUDA's
rule for the ops nanoVLM's model code calls:

1. scaled_dot_product_attention does not exist in torch 1.13 (nanovlm_shim.py supplies a math version that autocast
   knows nothing about). CUDA autocast puts it on the lower-precision list: q, k, v AND the additive mask are cast to
   bf16, and the fused kernels (FlashAttention-2 on CUDA, libtorch's CPU flash kernel the C# engine uses) take the
   q.k products, the softmax and the p.v accumulation in float32 from those bf16 inputs, rounding the unnormalised
   weights exp(s - rowmax) to bf16 before the p.v product, dividing by the float32 row sum at the end and rounding
   the output to bf16 (checked against libtorch 2.10's CPU kernel: 98% of outputs bit-equal, the rest one step). sdpa_autocast() does exactly that when CPU
   autocast is on, with autocast switched off inside so its own float32 products stay float32.
2. The mask: nanoVLM builds it as (1 - mask) * finfo(q.dtype).min with q float32 after RoPE; cast to bf16 that
   is -inf (0xFF7FFFFF rounds to 0xFF80), which leaves fully masked left-padding query rows all -inf (NaN or
   zeros depending on the kernel). NanoVlm.NET builds its mask with finfo(bfloat16).min instead (finite), so this
   shim clamps the mask to finfo(bfloat16).min before the cast: the one place where the oracle follows
   NanoVlm.NET's documented choice rather than CUDA's cast.
3. layer_norm, softmax, log_softmax, pow, rsqrt and mean are on CUDA's float32 list but on no CPU list in 1.13 (they
   run in their input's dtype). In nanoVLM's model they only ever see float32 inputs (residual streams, RMSNorm's
   own float32 arithmetic; the softmax is inside attention, item 1), so the result is the same; check_norm_inputs()
   asserts it on every run with forward pre-hooks on every LayerNorm and RMSNorm.
4. Not autocast but torch 1.13's CPU kernels: gelu (tanh) and silu on bf16 tensors compute in bf16 arithmetic (45%
   and 30% of results differ from the correctly rounded value, up to 2 bf16 steps), where CUDA's kernels (and
   libtorch 2.10's CPU kernels, which the C# engine runs) compute in float32 and round once. The ViT's GELU and the
   LM's SiLU run on bf16 linear outputs under autocast, so install() makes F.gelu / F.silu compute bf16 inputs in
   float32 and round the result to bf16 (before nanoVLM's modules bind F.silu).
"""
import math

import torch
import torch.nn.functional as F

import nanovlm_shim

BF16_MIN = torch.finfo(torch.bfloat16).min


def sdpa_autocast(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    """CUDA autocast's scaled_dot_product_attention (bf16 inputs, float32 softmax) under CPU autocast; else the math
    reference of nanovlm_shim."""
    if not torch.is_autocast_cpu_enabled():
        return nanovlm_shim.sdpa_math(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    low = torch.get_autocast_cpu_dtype()
    if dropout_p > 0.0:
        raise NotImplementedError("the tiny fixtures use no dropout")
    q, k, v = (t.to(low) for t in (query, key, value))
    mask = None if attn_mask is None else attn_mask.clamp(min=BF16_MIN).to(low)
    with torch.autocast("cpu", enabled=False):
        n_q, n_k = q.size(-2), k.size(-2)
        if enable_gqa:
            group = q.size(-3) // k.size(-3)
            k = k.repeat_interleave(group, dim=-3)
            v = v.repeat_interleave(group, dim=-3)
        s = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
        scores = (q.float() @ k.float().transpose(-2, -1)) * s
        if is_causal:
            upper = torch.ones(n_q, n_k, dtype=torch.bool).triu(diagonal=1)
            scores = scores.masked_fill(upper, float("-inf"))
        if mask is not None:
            scores = scores + mask.float()
        # The flash kernels' softmax: exp relative to the row max in float32, those (unnormalised) weights rounded
        # to bf16 for the p.v product, the float32 sum of the unrounded ones dividing at the end.
        e = (scores - scores.amax(dim=-1, keepdim=True)).exp()
        return ((e.to(low).float() @ v.float()) / e.sum(dim=-1, keepdim=True)).to(low)


def _rounded_once(fn):
    """fn computed in float32 for bf16/fp16 inputs and rounded to the input's dtype (CUDA's opmath kernels)."""
    def wrapper(input, *args, **kwargs):
        if input.dtype in (torch.bfloat16, torch.float16):
            return fn(input.float(), *args, **kwargs).to(input.dtype)
        return fn(input, *args, **kwargs)
    wrapper.__name__ = fn.__name__
    return wrapper


def install():
    """Replaces the shim's scaled_dot_product_attention with sdpa_autocast and makes F.gelu / F.silu round once
    (call after nanovlm_shim.install, before importing models.*)."""
    F.scaled_dot_product_attention = sdpa_autocast
    F.gelu = _rounded_once(F.gelu)
    F.silu = _rounded_once(F.silu)
    return {"F.scaled_dot_product_attention": "bf16 inputs and mask (clamped to finfo(bf16).min), float32 softmax "
                                              "and accumulation, bf16 output, under CPU autocast",
            "F.gelu, F.silu": "bf16 inputs computed in float32 and rounded once (torch 1.13's CPU kernels compute "
                              "in bf16)"}


def check_cpu_autocast():
    """The op classes the fixtures rely on, as torch 1.13's CPU autocast handles them."""
    x, w, b = torch.randn(4, 8), torch.randn(8, 8), torch.randn(8)
    target = torch.tensor([0, 1, 2, 3])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = {
            "linear": F.linear(x, w, b).dtype, "matmul": (x @ w).dtype,
            "conv2d": F.conv2d(torch.randn(1, 3, 4, 4), torch.randn(2, 3, 2, 2), stride=2).dtype,
            "embedding": F.embedding(torch.tensor([1]), w).dtype, "layer_norm(float32)": F.layer_norm(x, (8,)).dtype,
            "bf16 * float32": (x.bfloat16() * x).dtype,
        }
        ce = F.cross_entropy(x.bfloat16(), target)
    want = {"linear": torch.bfloat16, "matmul": torch.bfloat16, "conv2d": torch.bfloat16, "embedding": torch.float32,
            "layer_norm(float32)": torch.float32, "bf16 * float32": torch.float32}
    if got != want:
        raise SystemExit(f"torch's CPU autocast differs from what the fixtures assume: {got}")
    if ce.dtype != torch.float32 or ce.item() != F.cross_entropy(x.bfloat16().float(), target).item():
        raise SystemExit("CPU autocast's cross_entropy is not float32 over the bf16 logits")
    return {k: str(v) for k, v in got.items()} | {"cross_entropy(bf16 logits)": "float32, equal to the float32 CE"}


def check_norm_inputs(model):
    """Forward pre-hooks on every LayerNorm / RMSNorm that record their input dtypes; returns (seen, remove)."""
    seen = set()
    handles = [m.register_forward_pre_hook(lambda mod, inp: seen.add((type(mod).__name__, str(inp[0].dtype))))
               for m in model.modules() if type(m).__name__ in ("LayerNorm", "RMSNorm")]
    return seen, lambda: [h.remove() for h in handles]
