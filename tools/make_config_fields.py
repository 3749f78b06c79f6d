#!/usr/bin/python3
"""Writes tests/fixtures/nanovlm_config_fields.txt: every field of nanoVLM's VLMConfig and TrainConfig, one per line
as `<class> <field>`, read from nanoVLM's own models/config.py (the checkout named by NANOVLM_DIR, at the pinned
commit; see tools/nanovlm_reference/README.md). NanovlmConfigTests checks that the configuration file accepts
exactly these keys.

  NANOVLM_DIR=/path/to/nanoVLM /usr/bin/python3 tools/make_config_fields.py
"""
import dataclasses
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "nanovlm_reference"))
import checkout  # noqa: E402

checkout.use_nanovlm()
import models.config as config  # noqa: E402

out = os.path.join(ROOT, "tests", "fixtures", "nanovlm_config_fields.txt")
with open(out, "w") as f:
    f.write(f"# nanoVLM models/config.py @ {checkout.PINNED_COMMIT}, made by tools/make_config_fields.py\n")
    for cls in (config.VLMConfig, config.TrainConfig):
        for field in dataclasses.fields(cls):
            f.write(f"{cls.__name__} {field.name}\n")
print(out)
