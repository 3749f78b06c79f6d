"""Puts a checkout of huggingface/nanoVLM at the pinned commit on sys.path, with the run-time shims in front of it.

The reference scripts run nanoVLM's own data code from a checkout (this repository holds only code written for
it). Where that checkout is: the NANOVLM_DIR environment variable (or the `path` argument). Every nanoVLM file the
reference runs is checked against its git blob hash at the pinned commit, so an archive extract works as well as
a clone, and a checkout of another commit is refused naming the file that differs.

    import checkout; checkout.use_nanovlm()   # then: from data.advanced_datasets import ConstantLengthDataset
"""
import hashlib
import os
import sys

PINNED_COMMIT = "4e0c0961846135c2217f95e54cb4c2d66eb55e42"

# `git ls-tree -r 4e0c096 data models/config.py models/__init__.py` of huggingface/nanoVLM.
PINNED_BLOBS = {
    "data/__init__.py": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
    "data/advanced_datasets.py": "0b69512c158a2432776fa2236c648fc08e5447e1",
    "data/collators.py": "78e60b27897f437cf5c855ee58dc6af889aa81ba",
    "data/custom_transforms.py": "a0de3af63beb78a1390ec76f594ebd28d18c317c",
    "data/data_utils.py": "011df0bd110e8598b42515023c8b6ded6d7e0be0",
    "data/datasets.py": "9b5dba3a6692efd5304a815b695f895b6c50df36",
    "data/processors.py": "ee3d86f54e069d8b5167e9d7df8ac56a19553f34",
    "models/__init__.py": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
    "models/config.py": "749c9c1dc90938a42e276b9fb2bc725b0359d8c2",
}

HERE = os.path.dirname(os.path.abspath(__file__))
HOW = ("get it with: git clone https://github.com/huggingface/nanoVLM && git -C nanoVLM checkout "
       f"{PINNED_COMMIT[:7]}  (see tools/nanovlm_reference/README.md)")


def git_blob_hash(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check(root):
    """Raises SystemExit naming the first file that is missing or differs from the pinned commit."""
    for rel, blob in PINNED_BLOBS.items():
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            raise SystemExit(f"NANOVLM_DIR={root}: {rel} is missing; {HOW}")
        if git_blob_hash(path) != blob:
            raise SystemExit(f"NANOVLM_DIR={root}: {rel} is not the file of nanoVLM commit {PINNED_COMMIT[:7]}; {HOW}")


def use_nanovlm(path=None):
    """Checks the checkout and puts the shims, the checkout and this folder (hf_rows) first on sys.path."""
    root = path or os.environ.get("NANOVLM_DIR")
    if not root:
        raise SystemExit(f"NANOVLM_DIR is not set: it must name a checkout of huggingface/nanoVLM; {HOW}")
    root = os.path.abspath(root)
    check(root)
    for p in (HERE, root, os.path.join(HERE, "shims")):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    return root
