"""Memory and time of `load_resized(photo, 224)` on large photos stored narrower than RGB: 8-bit grey, 1-bit, a grey and
a colour palette, a grey with a grey ICC profile, and CMYK (a JPEG, which decodes at 1/8 by DCT scaling, and a TIFF).

Each photo (--megapixels, 40 by default) is written once to a temporary folder, then read in a child process of its
own, which reports its peak RSS above its start (VmHWM, `common.peak_rss_mb`), the best of 3 times, and a digest of
the pixels. With --old FILE (an older glr/data/pixel_modes.py) each photo is read with it too, back to back: the
digests say whether the pixels moved.

    .venv/bin/python benchmarks/bench_narrow_modes.py [--tiny] [--megapixels 40] [--old /tmp/old_pixel_modes.py]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def write_photos(folder: Path, megapixels: float) -> list[Path]:
    """One photo of each narrow mode, about `megapixels` large, a folded ramp (edges and flats both)."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import grey_profile

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = int(height * 4 / 3)
    y, x = np.ogrid[:height, :width]
    levels = ((x * 7 + y * 3 + (x * y) % 251) % 256).astype(np.uint8)
    grey = Image.fromarray(levels, "L")
    colour = Image.fromarray(levels, "P")
    colour.putpalette([int(v) for v in np.random.default_rng(0).integers(0, 256, 768)])
    greys = Image.fromarray(levels, "P")
    greys.putpalette([v for level in range(255, -1, -1) for v in (level,) * 3])
    cmyk = Image.fromarray(np.stack([levels, levels * np.uint8(3), 255 - levels, levels // 4], axis=-1), "CMYK")
    photos = {"grey.png": (grey, {}), "grey-profile.png": (grey, {"icc_profile": grey_profile()}),
              "1-bit.png": (grey.convert("1"), {}), "grey-palette.png": (greys, {}),
              "colour-palette.png": (colour, {}), "cmyk.jpg": (cmyk, {"quality": 90}),
              "cmyk.tif": (cmyk, {"compression": "tiff_adobe_deflate"})}
    for name, (photo, options) in photos.items():
        if name.endswith(".png"):
            options = {"compress_level": 1, **options}  # PNG's default level takes minutes at 40 MP
        photo.save(folder / name, **options)
    return [folder / name for name in photos]


def measure(path: str, old: str | None) -> str:
    """Read `path` at 224 px three times: its peak MB above the start, the best time and the pixels' digest."""
    import hashlib
    import time

    import glr.data.images as images

    current = images.to_rgb
    if old:
        images.to_rgb = common.old_module(old, "old_pixel_modes").to_rgb  # what _decode_pil calls
    try:
        start, times = common.start_step_mb(), []
        for _ in range(3):
            began = time.perf_counter()
            pixels = images.load_resized(path, 224)
            times.append(time.perf_counter() - began)
    finally:
        images.to_rgb = current
    return f"{common.peak_rss_mb() - start:.0f} {min(times):.2f} {hashlib.md5(pixels.tobytes()).hexdigest()[:10]}"


def main(argv=None) -> dict:
    """Write the photos, read each in a child process (with --old, with the older code too), print a table."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--megapixels", type=float, default=40.0)
    p.add_argument("--old", help="an older glr/data/pixel_modes.py to compare with")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-old", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(measure(args.child, args.child_old))
        return {}
    common.header("load_resized at 224 px of photos narrower than RGB")
    versions = {"current": None} if not args.old else {"old": args.old, "current": None}
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'photo':20s}" + "".join(f"{name + ' MB':>12s}{name + ' s':>11s}{'pixels':>12s}" for name in versions))
        for path in write_photos(Path(folder), 0.05 if args.tiny else args.megapixels):
            row = f"{path.name:20s}"
            for name, old in versions.items():
                if args.tiny:  # in this process: only that it runs counts
                    out = measure(str(path), old)
                else:  # each in a process of its own, so that its peak is its own
                    extra = ["--child-old", old] if old else []
                    out = subprocess.run([sys.executable, __file__, "--child", str(path), *extra], capture_output=True,
                                         text=True, check=True).stdout
                peak, seconds, digest = out.split()[-3:]
                results[f"{name} {path.name}"] = float(peak)
                row += f"{'+' + peak:>12s}{seconds:>11s}{digest:>12s}"
            print(row, flush=True)
    common.summary(", ".join(f"{name} +{mb:.0f} MB" for name, mb in results.items()))
    return results


if __name__ == "__main__":
    main()
