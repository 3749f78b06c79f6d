"""lmms-eval's own code (EvolvingLMMs-Lab/lmms-eval at 654bd6c7), importable on Debian 12's python3.

Debian packages neither lmms-eval's dependencies (loguru, pytz, tqdm, sqlitedict, jinja2, sacrebleu, transformers)
nor lmms-eval itself. The modules used here run UNMODIFIED from a checkout: `lmms_eval.utils` (Collator),
`lmms_eval.api.model` (the `lmms` base class), `lmms_eval.api.instance` (Instance), `lmms_eval.api.metrics` and the
tasks' `utils.py` (doc_to_text, doc_to_visual, process_results, aggregation). Only the imports those modules make
but these code paths never call are replaced by empty stand-ins, and lmms_eval's package __init__ files (which
import the whole framework) by bare packages. `transformers` is tools/nanovlm_reference/shims/transformers, put on
sys.path by tools/nanovlm_reference/checkout.py.
"""
import hashlib
import importlib
import os
import sys
import types

import yaml

LMMS_COMMIT = "654bd6c7"

# `git rev-parse 654bd6c7:<file>` of EvolvingLMMs-Lab/lmms-eval: refuse another version.
PINNED_BLOBS = {
    "lmms_eval/utils.py": "15d57ce917e9ec5bd8bd922f7ffbb355191975e9",
    "lmms_eval/api/model.py": "d3b1603454444529820219f8b392f102054f70a2",
}

# task -> (lmms-eval task folder, yaml file, doc_to_text, doc_to_visual, process_results, aggregations by metric)
TASKS = {
    "mmstar": ("mmstar", "mmstar.yaml", "mmstar_doc_to_text", "mmstar_doc_to_visual", "mmstar_process_results"),
    "mmmu_val": ("mmmu", "mmmu_val.yaml", "mmmu_doc_to_text", "mmmu_doc_to_visual", "mmmu_process_results"),
    "ocrbench": ("ocrbench", "ocrbench.yaml", "ocrbench_doc_to_text", "ocrbench_doc_to_visual", "ocrbench_process_results"),
    "textvqa_val": ("textvqa", "textvqa_val.yaml", "textvqa_doc_to_text", "textvqa_doc_to_visual", "textvqa_process_results"),
    "docvqa_val": ("docvqa", "docvqa_val.yaml", "docvqa_doc_to_text", "docvqa_doc_to_visual", None),
    "infovqa_val": ("infovqa", "infovqa_val.yaml", "infovqa_doc_to_text", "infovqa_doc_to_visual", None),
    "chartqa": ("chartqa", "chartqa.yaml", "chartqa_doc_to_text", "chartqa_doc_to_visual", "chartqa_process_results"),
    "scienceqa": ("scienceqa", "scienceqa.yaml", "sqa_doc_to_text", "sqa_doc_to_visual", "sqa_process_results"),
    "mme": ("mme", "mme.yaml", "mme_doc_to_text", "mme_doc_to_visual", "mme_process_results"),
}


def _git_blob(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Nop:
    def __getattr__(self, name):
        return lambda *a, **k: None


class _Tqdm:
    """tqdm's progress bar, silent (the wrapper makes one per generate_until call)."""

    def __init__(self, *a, **k):
        pass

    def update(self, n=1):
        pass

    def close(self):
        pass


def _shim(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _package(name, path):
    m = _shim(name)
    m.__path__ = [path]
    return m


def install(lmms_dir):
    """Checks the checkout, registers the stand-ins and returns {task: module} of the tasks' utils."""
    lmms_dir = os.path.abspath(lmms_dir)
    for rel, blob in PINNED_BLOBS.items():
        path = os.path.join(lmms_dir, rel)
        if not os.path.isfile(path) or _git_blob(path) != blob:
            raise SystemExit(f"--lmms-eval {lmms_dir}: {rel} is missing or not the file of lmms-eval {LMMS_COMMIT}; "
                             f"git --git-dir=<lmms-eval mirror> archive {LMMS_COMMIT} lmms_eval | tar -x -C DIR")
    for name in ("loguru",):
        _shim(name, logger=_Nop())
    _shim("pytz")
    _shim("sacrebleu")
    _shim("sqlitedict", SqliteDict=dict)
    _shim("tqdm", tqdm=_Tqdm)
    _shim("jinja2", BaseLoader=object, Environment=lambda **kw: types.SimpleNamespace(filters={}), StrictUndefined=object)
    _package("lmms_eval", os.path.join(lmms_dir, "lmms_eval"))
    _package("lmms_eval.tasks", os.path.join(lmms_dir, "lmms_eval", "tasks"))
    _package("lmms_eval.api", os.path.join(lmms_dir, "lmms_eval", "api"))
    _shim("lmms_eval.api.registry", register_aggregation=lambda name: (lambda f: f), register_metric=lambda **kw: (lambda f: f))
    _shim("lmms_eval.llm_judge", ServerConfig=lambda **kw: None, get_server=lambda **kw: _Nop())
    transformers = importlib.import_module("transformers")
    for name in ("StoppingCriteria", "StoppingCriteriaList", "PreTrainedTokenizer"):  # base classes in signatures only
        if not hasattr(transformers, name):
            setattr(transformers, name, type(name, (), {}))
    importlib.import_module("lmms_eval.utils")
    importlib.import_module("lmms_eval.api.model")
    return {t: importlib.import_module(f"lmms_eval.tasks.{folder}.utils") for t, (folder, *_rest) in TASKS.items()}


def task_yaml(lmms_dir, task):
    """The task's yaml (with its `include`), `!function` lines dropped (the functions are taken from utils.py)."""
    folder, name = TASKS[task][0], TASKS[task][1]
    return _yaml(os.path.join(lmms_dir, "lmms_eval", "tasks", folder, name))


def _yaml(path):
    with open(path) as f:
        data = yaml.safe_load("".join(line for line in f if "!function" not in line)) or {}
    if "include" in data:
        base = _yaml(os.path.join(os.path.dirname(path), data.pop("include")))
        base.update(data)
        data = base
    return data
