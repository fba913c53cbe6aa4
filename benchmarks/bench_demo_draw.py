"""How much CPU a demo photo costs to draw, its landmark drawn for every photo or once per class (landmark_cache).

Draws every 4th demo class's photos (their real counts: 532 photos, in the dataset's order, one generator per
photo) in this process, the two ways interleaved (--rounds times), and prints the median CPU milliseconds per photo
of each (CPU rather than wall: other work shares the machine), and whether every photo's bytes and its generator's
state afterwards are the same both ways. The whole demo's CPU time is about 2,000 times this, shared by the workers.

    .venv/bin/python benchmarks/bench_demo_draw.py [--tiny] [--rounds 3]
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (puts the repo on the path)
from glr.demo import landmark_cache, landmarks, scenes  # noqa: E402
from glr.demo.dataset import class_counts, demo_classes  # noqa: E402


def draw(pick, width: int, drawer) -> tuple[float, str]:
    """CPU seconds to draw the photos of `pick` [(class, count)] with `drawer` as scenes' draw_landmark; a digest."""
    scenes.draw_landmark, digest = drawer, hashlib.sha256()
    landmark_cache._layers.clear()  # as a new worker starts
    try:
        with common.Timer(time.process_time) as timer:
            for cls, count in pick:
                for index in range(count):
                    rng = np.random.default_rng([0, cls.index, index])
                    digest.update(scenes.render_photo(cls, rng, width).tobytes())
                    digest.update(repr(rng.bit_generator.state).encode())
    finally:
        scenes.draw_landmark = landmark_cache.draw_landmark
    return timer.seconds, digest.hexdigest()


def main(argv=None) -> None:
    """Print the per-photo CPU of both ways and whether their photos are the same."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    pick = list(zip(demo_classes(), class_counts()))[::4]
    width, rounds = 256, args.rounds
    if args.tiny:
        pick, width, rounds = [(cls, 2) for cls, _ in pick[:3]], common.TINY_SIZE, 1
    photos = sum(count for _, count in pick)
    common.header(f"drawing {photos} demo photos at {width} px: the landmark for every photo, or once per class")
    ways = {"every photo": landmarks.draw_landmark, "once per class": landmark_cache.draw_landmark}
    ms = {way: [] for way in ways}
    digests = set()
    for _ in range(rounds):
        for way, drawer in ways.items():
            seconds, digest = draw(pick, width, drawer)
            ms[way].append(1000 * seconds / photos)
            digests.add(digest)
    for way, values in ms.items():
        print(f"{way}: {statistics.median(values):.2f} ms CPU per photo ({', '.join(f'{v:.2f}' for v in values)})")
    before, after = (statistics.median(ms[way]) for way in ways)
    common.summary(f"demo photo drawing {before:.2f} -> {after:.2f} ms CPU per photo ({1 - after / before:.0%} less); "
                   f"same bytes: {'yes' if len(digests) == 1 else 'NO'}")


if __name__ == "__main__":
    main()
