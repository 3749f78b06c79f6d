"""safetensors.torch for torch 1.13 without the PyPI wheel: save_file / save / load_file / load / safe_open /
save_model / load_model with the rules of huggingface/safetensors bindings/python/py_src/safetensors/torch.py
(commit 24b0b28):
- save_file refuses tensors that share memory (RuntimeError) and non-contiguous tensors (ValueError);
- save_model drops all but one name of each shared-storage group, keeping the alphabetically first name that
  covers the whole storage, records `metadata[dropped] = kept`, and saves contiguous copies;
- load_model(strict=True) loads with load_state_dict(strict=False), then for each shared group of the MODEL
  (preferring a name present in the file as the kept one) removes the other names from "missing", or reports
  them as "unexpected" if the file had them too; raises RuntimeError listing missing/unexpected keys.
Bytes on disk come from st_format.serialize (identical to the Rust serializer).
"""
import os
from collections import defaultdict

import numpy as np
import torch

import st_format

_TORCH_TO_ST = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.float16: "F16",
                torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32", torch.float64: "F64",
                torch.int64: "I64", torch.complex64: "C64"}
_ST_TO_TORCH = {v: k for k, v in _TORCH_TO_ST.items()}
_ST_TO_NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "F16": np.float16,
                "BF16": np.int16, "I32": np.int32, "F32": np.float32, "F64": np.float64, "I64": np.int64,
                "C64": np.complex64}


def _storage_ptr(t):
    return t.storage().data_ptr()


def _storage_nbytes(t):
    return t.storage().size() * t.element_size()


def _end_ptr(t):
    return t.view(-1)[-1].data_ptr() + t.element_size() if t.nelement() else t.data_ptr()


def _filter_shared_not_shared(groups, state_dict):
    """Same storage but disjoint byte ranges is not sharing: split such groups (torch.py)."""
    out = []
    for shared in groups:
        if len(shared) < 2:
            out.append(shared)
            continue
        areas = sorted((state_dict[n].data_ptr(), _end_ptr(state_dict[n]), n) for n in shared)
        _, last_stop, first = areas[0]
        out.append({first})
        for start, stop, name in areas[1:]:
            if start >= last_stop:
                out.append({name})
            else:
                out[-1].add(name)
            last_stop = stop
    return out


def _find_shared_tensors(state_dict):
    groups = defaultdict(set)
    for k, v in state_dict.items():
        if v.device.type != "meta" and _storage_ptr(v) != 0 and _storage_nbytes(v) != 0:
            groups[(str(v.device), _storage_ptr(v), _storage_nbytes(v))].add(k)
    return _filter_shared_not_shared(sorted(groups.values(), key=lambda s: sorted(s)), state_dict)


def _is_complete(t):
    return t.data_ptr() == _storage_ptr(t) and t.nelement() * t.element_size() == _storage_nbytes(t)


def _remove_duplicate_names(state_dict, *, preferred_names=None, discard_names=None):
    preferred_names = set(preferred_names or [])
    discard_names = set(discard_names or [])
    to_remove = defaultdict(list)
    for shared in _find_shared_tensors(state_dict):
        complete = {n for n in shared if _is_complete(state_dict[n])}
        if not complete:
            raise RuntimeError(f"no name covering the entire storage amongst {shared}; refusing to save/load")
        keep = sorted(complete)[0]
        if complete - discard_names:
            keep = sorted(complete - discard_names)[0]
        if preferred_names & complete:
            keep = sorted(preferred_names & complete)[0]
        for name in sorted(shared):
            if name != keep:
                to_remove[keep].append(name)
    return to_remove


def _check_for_save(tensors):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(v, torch.Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected torch.Tensor but received {type(v)}")
        if v.layout != torch.strided:
            raise ValueError(f"You are trying to save a sparse tensor: `{k}`")
    failing = [names for names in _find_shared_tensors(tensors) if len(names) > 1]
    if failing:
        raise RuntimeError(f"Some tensors share memory, this will lead to duplicate memory on disk: {failing}. "
                           "Use save_model.")
    for k, v in tensors.items():
        if not v.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{k}` which is not allowed.")


def _tensor_bytes(t):
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save(tensors, metadata=None):
    _check_for_save(tensors)
    return st_format.serialize({k: (_TORCH_TO_ST[v.dtype], list(v.shape), _tensor_bytes(v)) for k, v in tensors.items()},
                               metadata)


def save_file(tensors, filename, metadata=None):
    blob = save(tensors, metadata)
    with open(filename, "wb") as f:
        f.write(blob)


def _to_torch(dtype, shape, data):
    if dtype not in _ST_TO_NUMPY:
        raise st_format.SafetensorError(f"dtype {dtype} has no torch 1.13 equivalent")
    arr = np.frombuffer(data, dtype=_ST_TO_NUMPY[dtype]).reshape(shape).copy()
    t = torch.from_numpy(arr)
    return t.view(torch.bfloat16) if dtype == "BF16" else t


def load(data):
    _, tensors = st_format.deserialize(data)
    return {k: _to_torch(*v) for k, v in tensors.items()}


def read_file(filename):
    """(metadata or None, {name: torch.Tensor}) of a file, validated like the Rust reader."""
    with open(filename, "rb") as f:
        metadata, tensors = st_format.deserialize(f.read())
    return metadata, {k: _to_torch(*v) for k, v in tensors.items()}


def load_file(filename, device="cpu"):
    return {k: v.to(device) for k, v in read_file(filename)[1].items()}


class safe_open:
    """The subset of safetensors.safe_open nanoVLM's backbone loaders use (keys, get_tensor, metadata)."""

    def __init__(self, filename, framework="pt", device="cpu"):
        if framework not in ("pt", "torch"):
            raise ValueError(f"framework {framework!r} is not supported by this shim")
        self._meta, self._tensors = read_file(os.fspath(filename))
        self._device = device

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return sorted(self._tensors)

    def get_tensor(self, name):
        return self._tensors[name].to(self._device)

    def metadata(self):
        return self._meta


def save_model(model, filename, metadata=None, force_contiguous=True):
    state_dict = model.state_dict()
    for kept, group in _remove_duplicate_names(state_dict).items():
        for name in group:
            if metadata is None:
                metadata = {}
            if name not in metadata:
                metadata[name] = kept
            del state_dict[name]
    if force_contiguous:
        state_dict = {k: v.contiguous() for k, v in state_dict.items()}
    save_file(state_dict, filename, metadata=metadata)


def load_model(model, filename, strict=True, device="cpu"):
    state_dict = load_file(filename, device=device)
    to_removes = _remove_duplicate_names(model.state_dict(), preferred_names=state_dict.keys())
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = set(missing)
    unexpected = list(unexpected)
    for group in to_removes.values():
        for name in group:
            if name not in missing:
                unexpected.append(name)
            else:
                missing.remove(name)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {model.__class__.__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(missing))
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in sorted(unexpected))
        raise RuntimeError(error)
    return missing, unexpected
