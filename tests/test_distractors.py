"""glr.demo.distractors: package photos found, no landmark among them, generated scenes written once."""

import numpy as np
from PIL import Image

from glr.demo.distractors import SKIMAGE_IMAGES, distractor_set, generate_scenes, package_images


def test_package_images_exist_and_skip_the_palace():
    found = dict(package_images())
    assert "sklearn:flower" in found
    assert not any("china" in name for name in found)  # the Summer Palace is a landmark
    assert len([n for n in found if n.startswith("skimage:")]) == len(SKIMAGE_IMAGES)
    for path in found.values():
        with Image.open(path) as image:
            assert min(image.size) >= 16


def test_generated_scenes_are_reproducible_and_reused(tmp_path):
    first = generate_scenes(tmp_path / "a", n=3, seed=7, width=64)
    again = generate_scenes(tmp_path / "b", n=3, seed=7, width=64)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    stamp = first[0].stat().st_mtime_ns
    generate_scenes(tmp_path / "a", n=3, seed=7, width=64)
    assert first[0].stat().st_mtime_ns == stamp  # kept, not drawn again
    pixels = np.asarray(Image.open(first[0]))
    assert pixels.shape[1] == 64 and pixels.std() > 5  # a scene, not a blank frame


def test_distractor_set_table(tmp_path):
    table = distractor_set(tmp_path, generated=4)
    assert list(table.columns) == ["name", "source", "path"]
    assert (table["source"] == "generated").sum() == 4
    assert set(table["source"]) == {"sklearn", "skimage", "generated"}
    assert table["name"].is_unique
