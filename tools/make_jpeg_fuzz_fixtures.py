#!/usr/bin/python3
"""Writes tests/fixtures/decode/jpeg_fuzz.tsv: Pillow 9.4's verdict on damaged copies of the JPEG decode fixtures.

Run with Debian's /usr/bin/python3 (Pillow 9.4 on libjpeg-turbo 2.1.5). Each line is one damaged JPEG, stored as the
recipe that rebuilds it from its fixture, so no damaged file is committed:

    file  truncate  xors  verdict

`truncate` is the length kept (-1: all), `xors` a comma list of offset:mask applied after truncating (offset < kept
length), and `verdict` is `ok <sha256 of Image.open(f).convert('RGB').tobytes()>` or `error <exception type>: <text>`.
The damage is the kind a real crawl shows: a few flipped bits anywhere, overwritten header bytes, a cut-off file, a run
of garbage, a cut plus a flip. random.Random(2024) makes the file the same on every run with the same Pillow/libjpeg.
"""
import hashlib
import io
import os
import random
import re

from PIL import Image, __version__ as PIL_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "tests", "fixtures", "decode")
PER_FILE = 60


def damage(data, rng):
    """Returns (kept length, {offset: xor mask}) for one random kind of damage."""
    n = len(data)
    kind = rng.randrange(5)
    keep, xors = n, {}
    if kind == 0:  # a few random byte flips anywhere
        for _ in range(rng.randint(1, 5)):
            xors[rng.randrange(n)] = rng.randint(1, 255)
    elif kind == 1:  # overwritten header bytes (the first 64)
        for _ in range(rng.randint(1, 2)):
            off = rng.randrange(min(n, 64))
            mask = data[off] ^ rng.randrange(256)
            if mask:
                xors[off] = mask
    elif kind == 2:  # cut off
        keep = rng.randrange(n)
    elif kind == 3:  # a run of garbage
        at = rng.randrange(n)
        for off in range(at, min(n, at + rng.randint(1, 39))):
            mask = data[off] ^ rng.randrange(256)
            if mask:
                xors[off] = mask
    else:  # cut plus a flip
        keep = rng.randint(1, n - 1)
        xors[rng.randrange(keep)] = 0x55
    return keep, xors


def apply(data, keep, xors):
    out = bytearray(data[:keep])
    for off, mask in xors.items():
        out[off] ^= mask
    return bytes(out)


def verdict(data):
    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB").tobytes()
        return "ok " + hashlib.sha256(rgb).hexdigest()
    except Exception as e:  # every failure Pillow can raise here is a verdict, not a crash of this script
        text = re.sub(r" <[^>]* at 0x[0-9a-f]+>", "", " ".join(str(e).split()))[:80]  # no object addresses
        return f"error {type(e).__name__}: {text}"


def main():
    rng = random.Random(2024)
    files = sorted(f for f in os.listdir(DIR) if f.endswith(".jpg"))
    lines = [f"# Pillow {PIL_VERSION}: damaged JPEGs (tools/make_jpeg_fuzz_fixtures.py). file\ttruncate\txors\tverdict"]
    for name in files:
        with open(os.path.join(DIR, name), "rb") as f:
            data = f.read()
        for _ in range(PER_FILE):
            keep, xors = damage(data, rng)
            v = verdict(apply(data, keep, xors))
            xs = ",".join(f"{o}:{m}" for o, m in sorted(xors.items()))
            lines.append(f"{name}\t{keep if keep < len(data) else -1}\t{xs}\t{v}")
    with open(os.path.join(DIR, "jpeg_fuzz.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    ok = sum(1 for l in lines[1:] if "\tok " in l)
    print(f"{len(lines) - 1} damaged JPEGs, Pillow decodes {ok}")


if __name__ == "__main__":
    main()
