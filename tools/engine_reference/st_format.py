"""The safetensors file format, written byte for byte like huggingface/safetensors' Rust serializer
(safetensors/src/tensor.rs `prepare` / `serialize`, commit 24b0b28) and read with its validation rules
(`SafeTensors::read_metadata` / `Metadata::validate`). Pure Python: no torch, no numpy.

File = u64 little-endian N | N bytes of header | data.
Header = compact JSON (serde_json: no spaces, non-ASCII written as UTF-8, only '"', '\\' and U+0000..U+001F
escaped), padded with spaces (0x20) to a multiple of 8. Object order: "__metadata__" first when metadata is
given (even if empty), then the tensors in data order. Data order = dtype DESCENDING in the Rust enum order
below, then name ascending (byte order of UTF-8 = code point order). Each tensor entry is
{"dtype":"F32","shape":[..],"data_offsets":[begin,end]}, offsets relative to the data section, contiguous.
The Rust serializer keeps __metadata__ in a HashMap, so with two or more metadata entries their order is
unspecified; here they are sorted (the only order that is reproducible).
"""
import json
import struct

# safetensors/src/tensor.rs `enum Dtype` in declaration order (derive(Ord) compares by this position).
DTYPE_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
               "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
DTYPE_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
              "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
              "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
MAX_HEADER_SIZE = 100_000_000


class SafetensorError(ValueError):
    """A file the Rust reader would refuse (the message names the Rust error and the offending key)."""


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def header_bytes(entries, metadata=None):
    """entries: {name: (dtype, shape, nbytes)}. Returns (padded header bytes, [names in data order])."""
    for name, (dtype, _, _) in entries.items():
        if dtype not in DTYPE_BITS:
            raise SafetensorError(f"unknown dtype {dtype!r} for tensor {name!r}")
    order = sorted(entries, key=lambda n: (-DTYPE_ORDER.index(entries[n][0]), n.encode("utf-8")))
    parts = []
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorError(f"metadata must map str to str, got {k!r}: {v!r}")
        parts.append(_json("__metadata__") + ":" + _json({k: metadata[k] for k in sorted(metadata)}))
    offset = 0
    for name in order:
        dtype, shape, nbytes = entries[name]
        info = "{\"dtype\":" + _json(dtype) + ",\"shape\":" + _json([int(d) for d in shape]) + \
               ",\"data_offsets\":[" + str(offset) + "," + str(offset + nbytes) + "]}"
        parts.append(_json(name) + ":" + info)
        offset += nbytes
    raw = ("{" + ",".join(parts) + "}").encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return raw, order


def serialize(tensors, metadata=None):
    """tensors: {name: (dtype, shape, data bytes)} -> the file's bytes."""
    entries = {}
    for name, (dtype, shape, data) in tensors.items():
        n = 1
        for d in shape:
            n *= int(d)
        if n * DTYPE_BITS.get(dtype, 0) != 8 * len(data):
            raise SafetensorError(f"tensor {name!r}: {len(data)} bytes do not match {dtype} {list(shape)}")
        entries[name] = (dtype, shape, len(data))
    head, order = header_bytes(entries, metadata)
    return struct.pack("<Q", len(head)) + head + b"".join(tensors[n][2] for n in order)


def deserialize(buf):
    """bytes -> (metadata or None, {name: (dtype, shape, data bytes)}), refusing what the Rust reader refuses."""
    if len(buf) < 8:
        raise SafetensorError("HeaderTooSmall: fewer than 8 bytes")
    n = struct.unpack("<Q", buf[:8])[0]
    if n > MAX_HEADER_SIZE:
        raise SafetensorError(f"HeaderTooLarge: header length {n}")
    if 8 + n > len(buf):
        raise SafetensorError(f"InvalidHeaderLength: header length {n} but file has {len(buf)} bytes")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SafetensorError(f"InvalidHeader: not UTF-8 ({e})") from None
    except json.JSONDecodeError as e:
        raise SafetensorError(f"InvalidHeaderDeserialization: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorError("InvalidHeaderDeserialization: header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise SafetensorError("InvalidHeaderDeserialization: __metadata__ must map str to str")
    infos = []
    for name, info in header.items():
        try:
            dtype, shape, (b, e) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (TypeError, KeyError, ValueError) as ex:
            raise SafetensorError(f"InvalidHeaderDeserialization: tensor {name!r}: {ex!r}") from None
        if dtype not in DTYPE_BITS:
            raise SafetensorError(f"InvalidHeaderDeserialization: tensor {name!r}: unknown dtype {dtype!r}")
        infos.append((int(b), int(e), name, dtype, shape))
    infos.sort(key=lambda t: (t[0], t[1]))
    start, base, out = 0, 8 + n, {}
    for b, e, name, dtype, shape in infos:
        if b != start or e < b:
            raise SafetensorError(f"InvalidOffset: tensor {name!r} data_offsets [{b},{e}], expected to start at {start}")
        count = 1
        for d in shape:
            count *= d
        if count * DTYPE_BITS[dtype] != 8 * (e - b):
            raise SafetensorError(f"TensorInvalidInfo: tensor {name!r} {dtype} {shape} spans {e - b} bytes")
        out[name] = (dtype, shape, bytes(buf[base + b:base + e]))
        start = e
    if start + base != len(buf):
        raise SafetensorError(f"MetadataIncompleteBuffer: data section is {len(buf) - base} bytes, header covers {start}")
    return metadata, out


def self_test():
    """Reproduces the byte vectors asserted by the Rust crate's own tests (safetensors/src/tensor.rs:
    test_serialization, test_empty, test_serialization_forced_alignement)."""
    six = b"".join(struct.pack("<f", v) for v in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0))
    got = serialize({"attn.0": ("F32", [1, 2, 3], six)})
    want = bytes([64, 0, 0, 0, 0, 0, 0, 0]) + b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}' + six
    assert got == want, "test_serialization vector"
    assert serialize({}) == bytes([8, 0, 0, 0, 0, 0, 0, 0]) + b"{}" + b" " * 6, "test_empty vector"
    got = serialize({}, {"framework": "pt"})
    assert got == bytes([40, 0, 0, 0, 0, 0, 0, 0]) + b'{"__metadata__":{"framework":"pt"}}' + b" " * 5, "test_empty+metadata"
    got = serialize({"attn0": ("F32", [1, 1, 2, 3], six)})
    want = bytes([72, 0, 0, 0, 0, 0, 0, 0]) + b'{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + b" " * 7 + six
    assert got == want, "test_serialization_forced_alignement vector"
    # ordering: I64 (higher in the enum) before F32, then names ascending
    got = serialize({"b": ("F32", [1], b"\0" * 4), "a": ("F32", [1], b"\0" * 4), "z": ("I64", [1], b"\0" * 8)})
    assert got[8:].startswith(b'{"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":'), "dtype-then-name order"
    for blob in (got, serialize({}, {"framework": "pt"})):
        deserialize(blob)
