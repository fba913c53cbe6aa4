"""How long `decode_words._exif_after_pixels` takes on a large PNG, paid by glr and the exported predict.py per photo.

Writes a noise PNG of about 23 MB (a photo-sized file whose pixels do not compress), then times the function on it
(median of --repeats) and, with --old FILE, the same function from an older copy of decode_words.py, back to back.
Prints the load average.

    .venv/bin/python benchmarks/bench_exif_walk.py [--tiny] [--idat-kb 8] [--old /tmp/old_decode_words.py]
"""

from __future__ import annotations

import io
import os
import statistics
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402,F401  (puts the repo on the path)
from glr.data import decode_words  # noqa: E402


def _median_ms(function, data: bytes, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _split_pixels(data: bytes, size: int) -> bytes:
    """The PNG `data` with its pixels in IDAT chunks of `size` bytes (libpng writes 8 KB ones, Pillow 64 KB)."""
    at, pixels, others = 8, b"", []
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"IDAT":
            pixels += data[at + 8:at + 8 + length]
        elif kind != b"IEND":
            others.append(data[at:at + 12 + length])
        at += 12 + length
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (data[:8] + b"".join(others) + b"".join(chunk(b"IDAT", pixels[i:i + size]) for i in range(0, len(pixels), size))
            + chunk(b"IEND", b""))


def main(argv=None) -> dict:
    """Time the eXIf check on a noise PNG, the current code and (with --old) an older decode_words.py."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--side", type=int, default=2800, help="the PNG's width and height (2800: about 23 MB)")
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--idat-kb", type=int, default=8, help="IDAT chunk size in KB (libpng's 8; 0: Pillow's own)")
    p.add_argument("--old", help="an older decode_words.py to time against")
    args = p.parse_args(argv)
    side, repeats = (64, 3) if args.tiny else (args.side, args.repeats)
    common.header("the eXIf-after-the-pixels check on a large PNG")
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    data = buffer.getvalue()
    if args.idat_kb:
        data = _split_pixels(data, args.idat_kb * 1024)
    print(f"png {len(data) / 1e6:.1f} MB, {side}x{side}, {data.count(b'IDAT')} IDAT chunks [load {os.getloadavg()[0]:.2f}]")
    functions = {"current": decode_words._exif_after_pixels}
    if args.old:
        functions["old"] = common.old_module(args.old, "old_decode_words")._exif_after_pixels
    times = {}
    for name, function in functions.items():
        times[name] = _median_ms(function, data, repeats)
        print(f"{name}: {times[name]:.3f} ms (median of {repeats}), answer {function(data)} "
              f"[load {os.getloadavg()[0]:.2f}]")
    common.summary(", ".join(f"{name} {ms:.3f} ms" for name, ms in times.items()) + f" for a {len(data) / 1e6:.1f} MB PNG")
    return times


if __name__ == "__main__":
    main()
