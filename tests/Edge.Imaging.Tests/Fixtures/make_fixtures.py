#!/usr/bin/python3
"""Generates the PNG/JPEG fixtures for Edge.Imaging.Tests. Run once; the outputs are committed.

Two independent encoders: a minimal PNG writer below (forces every filter type and Adam7, which PIL
cannot write) and PIL itself. Every file is decoded back with PIL and checked against the source
samples, then the expected gray values (BT.601 luma for colour, low bit depths scaled to 0..255)
are written to NAME.expected.txt as "width height" followed by one value per pixel.
"""
import struct, zlib
import numpy as np
from PIL import Image

W, H = 13, 7  # odd sizes exercise partial Adam7 passes and bit-packed row padding
y, x = np.mgrid[0:H, 0:W]
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    if depth == 8:
        return bytes(int(s) for s in samples)
    out, acc, n = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | int(s)
        n += depth
        if n == 8:
            out.append(acc); acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(kind, row, prev, bpp):
    out = bytearray([kind])
    for i, v in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((v - pred) & 0xFF)
    return bytes(out)


def encode_rows(samples, depth, channels, start_filter):
    # samples: (h, w, channels) array; each row filtered with a different filter type in turn
    h, w = samples.shape[:2]
    bpp = max(1, channels * depth // 8)
    prev = bytes(len(pack_row(samples[0].reshape(-1), depth)))
    out = bytearray()
    for r in range(h):
        row = pack_row(samples[r].reshape(-1), depth)
        out += filter_row((start_filter + r) % 5, row, prev, bpp)
        prev = row
    return bytes(out)


def write_png(path, samples, depth, color_type, interlace, palette=None):
    h, w, channels = samples.shape
    raw = bytearray()
    if interlace:
        for p, (sx, sy, dx, dy) in enumerate(ADAM7):
            sub = samples[sy::dy, sx::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode_rows(sub, depth, channels, p)
    else:
        raw = encode_rows(samples, depth, channels, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, interlace))
    data += chunk(b"tEXt", b"Comment\x00ancillary chunk the decoder must skip")
    if palette is not None:
        data += chunk(b"PLTE", bytes(palette.reshape(-1).astype(np.uint8)))
    z = zlib.compress(bytes(raw), 9)
    data += chunk(b"IDAT", z[: len(z) // 2]) + chunk(b"IDAT", z[len(z) // 2:])  # split IDAT on purpose
    data += chunk(b"IEND", b"")
    open(path, "wb").write(data)


def luma(rgb):
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def write_expected(path, gray):
    with open(path.rsplit(".", 1)[0] + ".expected.txt", "w") as f:
        f.write(f"{gray.shape[1]} {gray.shape[0]}\n")
        f.write(" ".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in gray.reshape(-1)) + "\n")


def pil_gray(path):
    """PIL's own decode, reduced to the same gray definition (for checking, not for the expected values)."""
    im = Image.open(path)
    im.load()
    if im.mode == "P":
        im = im.convert("RGB")
    a = np.array(im).astype(np.float64)
    if im.mode in ("RGB", "RGBA"):
        return luma(a)
    if im.mode == "LA":
        return a[..., 0]
    return a


def ramp(levels, k=1):
    return ((x * 3 * k + y * 5 + k) % (levels + 1)).astype(np.int64)


for interlace in (0, 1):
    suffix = "_adam7" if interlace else ""
    for depth in (1, 2, 4, 8, 16):
        levels = (1 << depth) - 1
        v = ramp(levels) if depth < 16 else (x * 5003 + y * 777) % 65536
        name = f"gray{depth}{suffix}.png"
        write_png(name, v[..., None], depth, 0, interlace)
        expected = v * (255.0 / levels) if depth < 8 else v.astype(np.float64)
        pil = pil_gray(name)
        assert np.allclose(pil if depth != 1 else pil * 255.0, expected) or depth < 8 and np.allclose(pil, v), name
        write_expected(name, expected)
    for depth in (8, 16):
        rgb = np.stack([(x * 37 + y * 11) % 256, (x * 7 + y * 131) % 256, (x * 97 + y * 3) % 256], -1)
        if depth == 16:
            rgb = rgb * 256 + (x * 13 + y)[..., None] % 7  # low byte varies too
        alpha = ((x + y) * 20 % 256) * (257 if depth == 16 else 1)
        for name, samples, ct, expected in (
            (f"graya{depth}{suffix}.png", np.stack([rgb[..., 0], alpha], -1), 4, rgb[..., 0].astype(np.float64)),
            (f"rgb{depth}{suffix}.png", rgb, 2, luma(rgb.astype(np.float64))),
            (f"rgba{depth}{suffix}.png", np.concatenate([rgb, alpha[..., None]], -1), 6, luma(rgb.astype(np.float64))),
        ):
            write_png(name, samples, depth, ct, interlace)
            if depth == 8:  # PIL reduces 16-bit colour to 8 bits, so it can only confirm the 8-bit files
                assert np.allclose(pil_gray(name), expected), name
            write_expected(name, expected)
    for depth in (1, 2, 4, 8):
        levels = (1 << depth) - 1
        palette = np.array([[(i * 67) % 256, (i * 151) % 256, (255 - i * 29) % 256] for i in range(levels + 1)])
        index = ramp(levels)
        name = f"palette{depth}{suffix}.png"
        write_png(name, index[..., None], depth, 3, interlace, palette)
        expected = luma(palette[index].astype(np.float64))
        assert np.allclose(pil_gray(name), expected), name
        write_expected(name, expected)

# Files written by PIL (its own zlib/filter choices).
rgb8 = np.stack([(x * 37 + y * 11) % 256, (x * 7 + y * 131) % 256, (x * 97 + y * 3) % 256], -1).astype(np.uint8)
for name, im in (
    ("pil_l.png", Image.fromarray(((x * 19 + y * 23) % 256).astype(np.uint8), "L")),
    ("pil_rgb.png", Image.fromarray(rgb8, "RGB")),
    ("pil_rgba.png", Image.fromarray(np.concatenate([rgb8, np.full((H, W, 1), 128, np.uint8)], -1), "RGBA")),
    ("pil_p.png", Image.fromarray(rgb8, "RGB").quantize(16)),
    ("pil_i16.png", Image.fromarray(((x * 5003 + y * 777) % 65536).astype(np.uint16))),
):
    im.save(name)
    write_expected(name, pil_gray(name))

# JPEG: a smooth 64x48 scene so lossy coding stays close; expected = PIL's own decode to gray.
jy, jx = np.mgrid[0:48, 0:64]
scene = np.stack([128 + 100 * np.sin(jx / 9.0), 128 + 90 * np.cos(jy / 7.0), 60 + jx + jy], -1).clip(0, 255).astype(np.uint8)
for name, im, kw in (
    ("baseline_gray.jpg", Image.fromarray(scene[..., 0], "L"), {}),
    ("baseline_rgb.jpg", Image.fromarray(scene, "RGB"), {}),
    ("progressive_rgb.jpg", Image.fromarray(scene, "RGB"), {"progressive": True}),
):
    im.save(name, quality=92, **kw)
    decoded = Image.open(name)
    decoded.load()
    write_expected(name, np.array(decoded.convert("RGB")).astype(np.float64) @ np.array([0.299, 0.587, 0.114]) if decoded.mode == "RGB" else np.array(decoded).astype(np.float64))
print("ok")
