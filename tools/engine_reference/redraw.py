"""The seeded weight re-draw the engine and eval fixtures share (run on Debian's torch 1.13)."""
import math

import torch


def redraw_weights(model, seed):
    """Fan-in scaled seeded re-draw (nanoVLM's std-0.02 init makes greedy decoding repeat one token):
    matrices randn/sqrt(fan_in), the ViT position embedding 0.5*randn, norm gains 1+0.1*randn, biases 0.1*randn.
    named_parameters() lists the tied head/embedding once."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith("position_embedding"):
                p.copy_(0.5 * r)
            elif p.dim() >= 2:
                p.copy_(r / math.sqrt(p[0].numel()))
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            else:
                p.copy_(0.1 * r)
