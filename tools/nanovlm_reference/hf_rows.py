# NanoVlm.NET's own code, not a port: presents `nanovlm sample-data --format jsonl` output (DIR/jsonl/*.jsonl, image
# paths relative to the .jsonl) as the Hugging Face `datasets` rows nanoVLM's VQADataset reads, because Debian has
# no pyarrow (so neither `datasets` nor the parquet can be used from Python). The rows are the same as in
# DIR/*.parquet (sample-data writes both from one generator).
#
# Like `datasets`, the encoded image bytes are held in memory (Arrow would memory-map them) and decoded only when a
# row is accessed, inside the DataLoader worker, the way datasets.features.Image.decode_example does it:
# PIL.Image.open(BytesIO(bytes)); image.load(); exif_transpose when an orientation tag is present. Row dicts carry
# images (list of PIL images), texts (list of {user, assistant}), source and the four rating lists.
#
# Two views, matching nanoVLM's two train.py paths (TrainConfig.stream_dataset):
#   StreamingRows   (stream_dataset=True, nanoVLM's default): an iterable without __len__, so ConstantLengthDataset
#                   calls VQADataset.iter_for_worker(); inside a DataLoader worker it reads only the shards
#                   shards[worker_id::num_workers], as datasets.IterableDataset does (shard_data_sources with
#                   contiguous=False); a worker without a shard yields nothing.
#   MapRows         (stream_dataset=False): a sequence with __len__/__getitem__; ConstantLengthDataset shards the
#                   indices with islice(worker_id, None, num_workers).
import glob
import io
import json
import os

import PIL.Image
import PIL.ImageOps
from torch.utils.data import get_worker_info


def _decode_image(data):
    image = PIL.Image.open(io.BytesIO(data))
    image.load()  # to avoid "Too many open files" errors (datasets)
    if image.getexif().get(PIL.Image.ExifTags.Base.Orientation) is not None:
        image = PIL.ImageOps.exif_transpose(image)
    return image


def _decode_row(rec):
    row = dict(rec)
    row["images"] = None if rec["images"] is None else [_decode_image(b) for b in rec["images"]]
    return row


def load_shards(data_dir, max_rows=None):
    """Reads DIR/jsonl/*.jsonl (or DIR/*.jsonl) in name order; returns a list of shards, each a list of raw records
    whose images are the encoded bytes."""
    files = sorted(glob.glob(os.path.join(data_dir, "jsonl", "*.jsonl"))) or sorted(glob.glob(os.path.join(data_dir, "*.jsonl")))
    if not files:
        raise FileNotFoundError(f"no .jsonl files under {data_dir}/jsonl or {data_dir}")
    shards, n = [], 0
    for path in files:
        base = os.path.dirname(path)
        shard = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                if max_rows is not None and n >= max_rows:
                    break
                rec = json.loads(line)
                if rec.get("images") is not None:
                    imgs = []
                    for p in rec["images"]:
                        with open(os.path.join(base, p), "rb") as g:
                            imgs.append(g.read())
                    rec["images"] = imgs
                shard.append(rec)
                n += 1
        shards.append(shard)
    return shards


class MapRows:
    def __init__(self, shards):
        self.records = [r for s in shards for r in s]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        return _decode_row(self.records[idx])


class StreamingRows:
    def __init__(self, shards):
        self.shards = shards

    @property
    def n_shards(self):
        return len(self.shards)

    def __iter__(self):
        info = get_worker_info()
        shards = self.shards if info is None else self.shards[info.id::info.num_workers]
        for shard in shards:
            for rec in shard:
                yield _decode_row(rec)
