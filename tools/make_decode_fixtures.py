#!/usr/bin/python3
"""Writes the decode fixtures under tests/fixtures/decode/ (run with Debian's /usr/bin/python3: Pillow 9.4 + numpy).

For every image `NAME.EXT` it writes `NAME.rgb`: the raw bytes of Pillow's
`Image.open(path).convert('RGB')` (HWC, row-major), and one line in `manifest.tsv`:

    file  format  width  height  pillow_mode  sha256(rgb)

The images are deterministic (numpy RandomState(1234)); re-running the script gives the same bytes
for PNG/BMP/GIF/WebP-lossless, and for JPEG as long as the libjpeg version is the same.
"""
import hashlib
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, __version__ as PIL_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "decode")
rng = np.random.RandomState(1234)


def pattern(w, h, noise=24):
    """Smooth gradients plus noise: exercises both DCT smoothing and edges."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127.5 + 127.5 * np.sin((x + 2 * y) / 5.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, noise, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def alpha_plane(w, h):
    a = rng.randint(0, 256, (h, w)).astype(np.uint8)
    a[0, :] = 0          # fully transparent row: premultiplication would zero its RGB
    a[-1, :] = 255
    a[:, 0] = 1          # almost transparent: premultiply/unpremultiply round trip would lose RGB
    return a


manifest = []


def emit(name, data, store_rgb=True):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    im = Image.open(path)
    fmt, mode, size = im.format, im.mode, im.size
    rgb = im.convert("RGB")
    raw = rgb.tobytes()
    assert len(raw) == size[0] * size[1] * 3
    stem = os.path.splitext(name)[0]
    if store_rgb:
        with open(os.path.join(OUT, stem + ".rgb"), "wb") as f:
            f.write(raw)
    manifest.append((name, fmt, size[0], size[1], mode, hashlib.sha256(raw).hexdigest(),
                     "rgb" if store_rgb else "sha-only"))


def save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_raw(w, h, bitdepth, colortype, rows):
    """Hand-made PNG (Pillow cannot write every 16-bit mode)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bitdepth, colortype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # ---- PNG ----
    rgb = pattern(37, 23)
    emit("png_rgb_37x23.png", save(Image.fromarray(rgb, "RGB"), "PNG"))
    rgba = np.dstack([pattern(37, 23), alpha_plane(37, 23)])
    emit("png_rgba_37x23.png", save(Image.fromarray(rgba, "RGBA"), "PNG"))
    gray = pattern(33, 17)[:, :, 0]
    emit("png_l_33x17.png", save(Image.fromarray(gray, "L"), "PNG"))
    la = np.dstack([gray, alpha_plane(33, 17)])
    emit("png_la_33x17.png", save(Image.fromarray(la, "LA"), "PNG"))
    pal = Image.fromarray(pattern(31, 19), "RGB").quantize(colors=50)
    emit("png_p_31x19.png", save(pal, "PNG"))
    palt = pal.copy()
    trns = bytes([0, 1, 128, 255] + list(rng.randint(0, 256, 46).astype(np.uint8)))
    palt.info["transparency"] = trns
    emit("png_pa_31x19.png", save(palt, "PNG", transparency=trns))
    p4 = Image.fromarray(pattern(13, 9), "RGB").quantize(colors=16)
    emit("png_p4bit_13x9.png", save(p4, "PNG", bits=4))
    emit("png_1bit_21x5.png", save(Image.fromarray(gray[:5, :21] > 128).convert("1"), "PNG"))
    emit("png_l_trns_17x11.png", save(Image.fromarray(gray[:11, :17], "L"), "PNG", transparency=int(gray[0, 0])))
    emit("png_rgb_interlaced_37x23.png", _interlaced(rgb))
    # 16-bit: hand-made so every sample has a non-trivial low byte.
    v16 = rng.randint(0, 65536, (9, 11, 4)).astype(">u2")
    emit("png_rgb16_11x9.png", png_raw(11, 9, 16, 2, [v16[y, :, :3].tobytes() for y in range(9)]))
    emit("png_rgba16_11x9.png", png_raw(11, 9, 16, 6, [v16[y].tobytes() for y in range(9)]))
    g16 = v16[:, :, 0].copy()
    g16[0, :] = rng.randint(0, 256, 11)  # some values below 256 (Pillow keeps them, clips the others)
    emit("png_l16_11x9.png", png_raw(11, 9, 16, 0, [g16[y].tobytes() for y in range(9)]))
    emit("png_la16_11x9.png", png_raw(11, 9, 16, 4, [v16[y, :, :2].tobytes() for y in range(9)]))
    emit("png_l16_interlaced_11x9.png", _interlaced(g16.reshape(9, 11, 1).astype(">u2").view(np.uint8).reshape(9, 11, 2),
                                                     bitdepth=16, colortype=0))
    emit("png_gama_chrm_37x23.png", _with_chunks(save(Image.fromarray(rgb, "RGB"), "PNG"),
                                                 [(b"gAMA", struct.pack(">I", 100000)),
                                                  (b"cHRM", struct.pack(">8I", 31270, 32900, 70000, 20000,
                                                                        20000, 70000, 10000, 5000))]))
    emit("png_rgb_513x7.png", save(Image.fromarray(pattern(513, 7), "RGB"), "PNG"))
    emit("png_rgb_1x1.png", save(Image.fromarray(pattern(1, 1), "RGB"), "PNG"))

    # ---- JPEG ----
    for (w, h) in [(37, 23), (513, 7), (64, 48)]:
        im = Image.fromarray(pattern(w, h), "RGB")
        emit(f"jpeg_420_{w}x{h}.jpg", save(im, "JPEG", quality=90, subsampling=2))
    im = Image.fromarray(pattern(37, 23), "RGB")
    emit("jpeg_444_37x23.jpg", save(im, "JPEG", quality=90, subsampling=0))
    emit("jpeg_422_37x23.jpg", save(im, "JPEG", quality=90, subsampling=1))
    emit("jpeg_progressive_37x23.jpg", save(im, "JPEG", quality=85, progressive=True))
    emit("jpeg_gray_37x23.jpg", save(im.convert("L"), "JPEG", quality=90))
    emit("jpeg_cmyk_37x23.jpg", save(im.convert("CMYK"), "JPEG", quality=90))
    emit("jpeg_cmyk_no_adobe_37x23.jpg", _strip_app14(save(im.convert("CMYK"), "JPEG", quality=90)))
    emit("jpeg_icc_linear_37x23.jpg", save(im, "JPEG", quality=90, icc_profile=_icc_gamma1()))
    # Larger JPEGs, checked by SHA-256 only (the raw RGB would be too big to commit).
    big = Image.fromarray(pattern(640, 480, noise=3), "RGB")
    emit("jpeg_420_q90_640x480.jpg", save(big, "JPEG", quality=90), store_rgb=False)
    emit("jpeg_444_q95_320x240.jpg", save(big.resize((320, 240)), "JPEG", quality=95, subsampling=0), store_rgb=False)
    emit("jpeg_420_q30_progressive_641x479.jpg", save(big.resize((641, 479)), "JPEG", quality=30, progressive=True),
         store_rgb=False)
    emit("jpeg_exif_rotated_37x23.jpg", save(im, "JPEG", quality=90, exif=_exif_orientation(6)))
    emit("jpeg_optimized_64x48.jpg", save(Image.fromarray(pattern(64, 48), "RGB"), "JPEG", quality=75, optimize=True))

    # ---- WebP / BMP / GIF ----
    emit("webp_lossless_37x23.webp", save(Image.fromarray(rgb, "RGB"), "WEBP", lossless=True))
    emit("webp_lossless_rgba_37x23.webp", save(Image.fromarray(rgba, "RGBA"), "WEBP", lossless=True, exact=True))
    emit("webp_lossy_37x23.webp", save(Image.fromarray(rgb, "RGB"), "WEBP", quality=80))
    emit("webp_lossy_rgba_37x23.webp", save(Image.fromarray(rgba, "RGBA"), "WEBP", quality=80, exact=True))
    emit("webp_lossy_513x7.webp", save(Image.fromarray(pattern(513, 7), "RGB"), "WEBP", quality=60))
    emit("bmp_rgb_37x23.bmp", save(Image.fromarray(rgb, "RGB"), "BMP"))
    emit("bmp_p_31x19.bmp", save(pal, "BMP"))
    emit("bmp_rgb555_13x9.bmp", _bmp16(rng.randint(0, 1 << 15, (9, 13)).astype("<u2")))
    emit("bmp_rgb565_13x9.bmp", _bmp16(rng.randint(0, 1 << 16, (9, 13)).astype("<u2"), (0xF800, 0x07E0, 0x001F)))
    emit("bmp_rgba32_13x9.bmp", _bmp32(np.dstack([pattern(13, 9), alpha_plane(13, 9)])))
    emit("gif_p_31x19.gif", save(pal, "GIF"))
    emit("gif_trns_31x19.gif", save(pal, "GIF", transparency=3))
    # First frame smaller than the logical screen: Pillow fills the uncovered canvas with the transparency index
    # (or index 0 without one) and looks it up in the palette; SkiaSharp leaves it transparent black.
    idx = np.asarray(pal)[:9, :13]
    palette = bytes(pal.getpalette()[:3 * 64])
    emit("gif_offset_trns_31x19.gif", _gif(31, 19, palette, (5, 4), idx, transparency=7))
    emit("gif_offset_notrns_31x19.gif", _gif(31, 19, palette, (5, 4), idx, transparency=None))

    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write(f"# Pillow {PIL_VERSION}; file\tformat\twidth\theight\tpillow_mode\tsha256_rgb\texpected\n")
        for row in manifest:
            f.write("\t".join(str(c) for c in row) + "\n")
    print(f"wrote {len(manifest)} fixtures to {OUT}", file=sys.stderr)


def _bmp16(px, masks=None):
    """16-bit bottom-up BMP: BI_RGB (5-5-5), or BI_BITFIELDS with the given (r, g, b) masks after the header."""
    h, w = px.shape
    stride = (w * 2 + 3) // 4 * 4
    rows = b"".join(px[y].tobytes().ljust(stride, b"\0") for y in range(h - 1, -1, -1))
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 16, 0 if masks is None else 3, len(rows), 2835, 2835, 0, 0)
    if masks is not None:
        info += struct.pack("<III", *masks)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(rows), 0, 0, 14 + len(info)) + info + rows


def _bmp32(rgba):
    """32-bit BI_BITFIELDS BMP (BITMAPV4HEADER with an alpha mask): Pillow reads it as RGBA."""
    h, w, _ = rgba.shape
    bgra = rgba[:, :, [2, 1, 0, 3]]
    rows = b"".join(bgra[y].tobytes() for y in range(h - 1, -1, -1))
    info = struct.pack("<IiiHHIIiiII", 108, w, h, 1, 32, 3, len(rows), 2835, 2835, 0, 0)
    info += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000) + b"sRGB" + b"\0" * 48
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(rows), 0, 0, 14 + len(info)) + info + rows


def _strip_app14(jpeg):
    """Removes the Adobe APP14 segment (Pillow then reads CMYK as not inverted)."""
    i = jpeg.find(b"\xff\xee")
    assert i > 0
    n = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
    return jpeg[:i] + jpeg[i + 2 + n:]


def _gif(w, h, palette, offset, idx, transparency):
    """Hand-made GIF89a: global colour table, optional GCE transparency, one image at `offset`, LZW with 8-bit literals
    (a clear code every 250 codes keeps the code size at 9 bits)."""
    entries = len(palette) // 3
    bits = max(1, (entries - 1).bit_length())
    table = palette + b"\0" * (3 * (1 << bits) - len(palette))
    out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80 | (bits - 1), 0, 0) + table
    if transparency is not None:
        out += b"\x21\xf9\x04" + bytes([1, 0, 0, transparency, 0])
    ih, iw = idx.shape
    out += b"\x2c" + struct.pack("<HHHHB", offset[0], offset[1], iw, ih, 0)
    clear, eoi = 256, 257
    codes = []
    for k, v in enumerate(idx.flatten()):
        if k % 250 == 0:
            codes.append(clear)
        codes.append(int(v))
    codes.append(eoi)
    acc = nbits = 0
    data = bytearray()
    for c in codes:
        acc |= c << nbits
        nbits += 9
        while nbits >= 8:
            data.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        data.append(acc & 0xFF)
    out += b"\x08"
    for i in range(0, len(data), 255):
        block = bytes(data[i:i + 255])
        out += bytes([len(block)]) + block
    return out + b"\x00\x3b"


def _with_chunks(png, chunks):
    """Inserts ancillary chunks right after IHDR."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return png[:33] + b"".join(chunk(t, d) for t, d in chunks) + png[33:]


def _icc_gamma1():
    """Minimal ICC v2 RGB matrix/TRC profile with linear (gamma 1.0) curves and wide primaries: a colour-managed
    decoder would change the pixels; Pillow's convert('RGB') ignores it."""
    def s15(v):
        return struct.pack(">i", int(round(v * 65536)))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"
    desc_text = b"linear\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 12 + b"\0" * 67
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.7977, 0.2880, 0.0)),
            (b"gXYZ", xyz(0.1352, 0.7119, 0.0)), (b"bXYZ", xyz(0.0313, 0.0001, 0.8249)),
            (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv), (b"cprt", b"text\0\0\0\0none\0\0\0\0")]
    table = struct.pack(">I", len(tags))
    offset = 128 + 4 + 12 * len(tags)
    body = b""
    for sig, data in tags:
        while len(data) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + len(table) + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
              + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"lcms")
    header += b"\0" * (128 - len(header))
    return header + table + body


def _interlaced(pixels, bitdepth=8, colortype=2):
    """Adam7 PNG built by hand (Pillow 9.4 cannot write interlaced PNG). pixels: HxWxB uint8 (B bytes per pixel)."""
    rgb = pixels
    h, w, _ = rgb.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for (x0, y0, dx, dy) in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        raw += b"".join(b"\x00" + sub[y].tobytes() for y in range(sub.shape[0]))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bitdepth, colortype, 0, 0, 1))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _exif_orientation(o):
    # Minimal little-endian TIFF with one IFD entry: Orientation (0x0112), SHORT, count 1.
    return b"Exif\x00\x00" + b"II*\x00\x08\x00\x00\x00" + b"\x01\x00" + struct.pack("<HHIHH", 0x0112, 3, 1, o, 0) + b"\x00\x00\x00\x00"


if __name__ == "__main__":
    main()
