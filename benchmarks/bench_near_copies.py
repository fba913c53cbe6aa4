"""Near-copies: how far apart the perceptual hashes of copies and of distinct photos are, and what hashing costs.

For each dataset given (default: the demo), with glr.data.near_copies as training uses it:

- **distinct photos**: every photo's distance (bits of 256) to its nearest other photo, and the pairs
  within MAX_DISTANCE (on a dataset with no copies there must be none);
- **copies**: for 40 photos, made copies (half size, JPEG quality 50, a PNG at two thirds, 20% brighter,
  greyscale, crops of 95% and 90%) and their distance to the original: the rule must catch all but crops;
- **cost**: hashing every photo cold (threads) and again from the hash store, per photo.

    .venv/bin/python benchmarks/bench_near_copies.py [DATA ...] [--tiny]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

COPIES = ("half size", "JPEG q50", "PNG 2/3", "brighter 1.2", "greyscale", "crop 95%", "crop 90%")


def _copy(img, how: str) -> tuple[bytes, str]:
    from PIL import ImageEnhance, ImageOps

    w, h = img.size
    made = {"half size": lambda: img.resize((w // 2, h // 2)), "JPEG q50": lambda: img,
            "PNG 2/3": lambda: img.resize((w * 2 // 3, h * 2 // 3)),
            "brighter 1.2": lambda: ImageEnhance.Brightness(img).enhance(1.2),
            "greyscale": lambda: ImageOps.grayscale(img),
            "crop 95%": lambda: img.crop((w // 40, h // 40, w - w // 40, h - h // 40)),
            "crop 90%": lambda: img.crop((w // 20, h // 20, w - w // 20, h - h // 20))}[how]()
    buf = io.BytesIO()
    made.save(buf, "PNG") if how == "PNG 2/3" else made.save(buf, "JPEG", quality=50 if how == "JPEG q50" else 90)
    return buf.getvalue(), ".png" if how == "PNG 2/3" else ".jpg"


def measure(root: Path, samples: int, out: Path) -> dict:
    """Distances between distinct photos and from copies to their originals, and the hashing cost, for one dataset."""
    from PIL import Image

    from glr.backbones.features import content_digest
    from glr.data.datasets import load_catalog
    from glr.data.near_copies import MAX_DISTANCE, HashStore, perceptual_hash, photo_hashes

    paths = load_catalog(root).paths().tolist()
    digests = [content_digest(p) for p in paths]
    store = HashStore(out / "store")
    started = time.perf_counter()
    hashes, hashed = photo_hashes(paths, digests, store)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    photo_hashes(paths, digests, store)
    warm = time.perf_counter() - started
    hashes, kept = hashes[hashed], [p for p, ok in zip(paths, hashed) if ok]
    nearest, pairs = [], []
    for start in range(0, len(hashes), 256):
        d = np.bitwise_count(hashes[start:start + 256, None, :] ^ hashes[None]).sum(-1, dtype=np.int32)
        d[np.arange(len(d)), np.arange(start, start + len(d))] = 10_000
        nearest.extend(d.min(1).tolist())
        pairs += [(kept[start + i], kept[j]) for i, j in zip(*np.nonzero(d <= MAX_DISTANCE)) if start + i < j]
    copies = {how: [] for how in COPIES}
    rng = np.random.default_rng(0)
    for i in rng.choice(len(kept), min(samples, len(kept)), replace=False):
        img = Image.open(kept[i]).convert("RGB")
        for how in COPIES:
            data, suffix = _copy(img, how)
            path = out / f"copy{suffix}"
            path.write_bytes(data)
            copies[how].append(int(np.bitwise_count(perceptual_hash(path) ^ hashes[i]).sum()))
    return {"photos": len(kept), "nearest": np.array(nearest), "pairs": pairs, "copies": copies,
            "cold_ms": 1000 * cold / len(paths), "warm_ms": 1000 * warm / len(paths)}


def main(argv: list[str] | None = None) -> None:
    from glr.data.near_copies import MAX_DISTANCE

    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("data", nargs="*", help="datasets (default: the demo)")
    args = p.parse_args(argv)
    common.header("near-copies: perceptual hash distances and cost")
    with tempfile.TemporaryDirectory() as tmp:
        roots = ([common.tiny_dataset(Path(tmp) / "tiny", classes=2, per_class=4)] if args.tiny
                 else [Path(d) for d in args.data] or [common.demo_root()])
        caught = []
        for root in roots:
            out = Path(tmp) / f"out-{len(caught)}"
            out.mkdir()
            r = measure(root, 3 if args.tiny else 40, out)
            near = r["nearest"]
            print(f"\n{root}: {r['photos']} photos; hashing {r['cold_ms']:.2f} ms a photo cold, "
                  f"{r['warm_ms']:.3f} ms from the store")
            print(f"  nearest other photo, bits of 256: min {near.min()}, 1st percentile {np.percentile(near, 1):.0f}, "
                  f"5th {np.percentile(near, 5):.0f}, median {np.median(near):.0f}")
            print(f"  pairs within {MAX_DISTANCE} bits: {len(r['pairs'])}"
                  + "".join(f"\n    {Path(a).name}  {Path(b).name}" for a, b in r["pairs"][:20]))
            beyond = sorted(d for d in near if d > MAX_DISTANCE)
            print(f"  nearest photo beyond the threshold: {beyond[0] if beyond else '-'} bits")
            for how, d in r["copies"].items():
                print(f"  copy {how:<13} to its original: max {max(d)}, mean {np.mean(d):.1f} bits; "
                      f"caught {sum(x <= MAX_DISTANCE for x in d)} of {len(d)}")
            caught.append(all(max(r["copies"][how]) <= MAX_DISTANCE for how in COPIES[:5]))
    common.summary(f"copies (not crops) caught on {sum(caught)} of {len(caught)} datasets at <= {MAX_DISTANCE} bits")


if __name__ == "__main__":
    main()
