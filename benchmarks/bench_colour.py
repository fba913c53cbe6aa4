"""How long a full-size decode of a Display P3 AVIF (a phone's, nclx colours) takes, its colours converted to sRGB.

Writes a photo-like 12 MP AVIF whose nclx box says Display P3 (and the same AVIF saying sRGB, which needs no
conversion), then times `decode_image` on each (median of --repeats), the current code and, with --old FILE, an
older copy of glr/data/pixel_modes.py, back to back. Prints the largest difference between their pixels and the
load average. The Dataset gallery and kept uploads decode a photo in full; training and prediction resize first.

    .venv/bin/python benchmarks/bench_colour.py [--tiny] [--megapixels 12] [--old /tmp/old_pixel_modes.py]
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402,F401  (puts the repo on the path)
from glr.data import images  # noqa: E402


def photo_avif(width: int, height: int, primaries: int) -> bytes:
    """A photo-like AVIF (smooth colours and sensor noise) whose nclx box says `primaries` (H.273) and sRGB's curve."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = np.random.default_rng(0).normal(0, 12, (3, height, width))
    bands = [128 + 100 * np.sin(x / 300), 128 + 100 * np.cos(y / 250), 128 + 100 * np.sin((x + y) / 400)]
    pixels = np.stack([np.clip(b + n, 0, 255) for b, n in zip(bands, noise)], -1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "AVIF", quality=70, speed=10)  # Pillow writes nclx 1, 13 (sRGB)
    data = buffer.getvalue()
    at = data.index(b"colrnclx") + 8
    return data[:at] + bytes([0, primaries, 0, 13]) + data[at + 4:]


def _median_s(data: bytes, repeats: int) -> tuple[float, np.ndarray]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pixels = images.decode_image(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times), pixels


def main(argv=None) -> dict:
    """Time full-size decoding of a P3 and an sRGB AVIF with the current and (with --old) an older pixel_modes.py."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--megapixels", type=float, default=12.0, help="the photo's size (4:3)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--old", help="an older glr/data/pixel_modes.py to time against")
    args = p.parse_args(argv)
    megapixels, repeats = (0.01, 1) if args.tiny else (args.megapixels, args.repeats)
    common.header("full-size decoding of a Display P3 AVIF")
    width = max(8, round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = max(6, width * 3 // 4)
    photos = {"p3": photo_avif(width, height, 12), "srgb": photo_avif(width, height, 1)}
    print(f"avif {width}x{height}, {len(photos['p3']) / 1e6:.1f} MB [load {os.getloadavg()[0]:.2f}]")
    versions = {"current": images.to_rgb}
    if args.old:
        versions["old"] = common.old_module(args.old, "old_pixel_modes").to_rgb
    times, shown = {}, {}
    try:
        for name, to_rgb in versions.items():
            images.to_rgb = to_rgb  # what _decode_pil calls
            for kind, data in photos.items():
                times[f"{name} {kind}"], shown[f"{name} {kind}"] = _median_s(data, repeats)
                print(f"{name} {kind}: {times[f'{name} {kind}']:.3f} s (median of {repeats}) [load {os.getloadavg()[0]:.2f}]")
    finally:
        images.to_rgb = versions["current"]
    if "old p3" in shown:
        apart = np.abs(shown["old p3"].astype(int) - shown["current p3"].astype(int)).max()
        print(f"old and current P3 pixels differ by at most {apart} grey levels")
    common.summary(", ".join(f"{name} {s:.3f} s" for name, s in times.items()) + f" for a {width}x{height} AVIF")
    return times


if __name__ == "__main__":
    main()
