"""train.py's learning-rate schedule (nanoVLM 4e0c096), shared by the fixture and benchmark scripts."""
import math


def get_lr(it, max_lr, max_steps):
    """train.py get_lr, verbatim semantics (warmup = 3% of max_steps as a float; 0.6 steps for 20)."""
    min_lr = max_lr * 0.1
    warmup_steps = max_steps * 0.03
    if it < warmup_steps:
        return max_lr * (it + 1) / warmup_steps
    if it > max_steps:
        return min_lr
    decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (max_lr - min_lr)
