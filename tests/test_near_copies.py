"""glr.data.near_copies: perceptual hashes find resized, re-encoded and recoloured copies, and nothing else."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps
from skimage import data as samples

from glr.data import near_copies
from glr.data.near_copies import (MAX_DISTANCE, HashStore, near_copies_of_training, perceptual_hash,
                                  photo_hashes)

# Real photos bundled with scikit-image: distinct scenes, like distinct photos of landmarks.
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "coins", "retina")


def _distance(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.bitwise_count(a ^ b).sum())


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    made = {}
    for name in SAMPLES:
        img = Image.fromarray(getattr(samples, name)()).convert("RGB")
        made[name] = folder / f"{name}.jpg"
        img.save(made[name], quality=92)
    return made


def _copies(original: Path, folder: Path) -> list[Path]:
    img = Image.open(original).convert("RGB")
    w, h = img.size
    variants = {
        "half.jpg": img.resize((w // 2, h // 2)),
        "low-quality.jpg": img,
        "brighter.jpg": ImageEnhance.Brightness(img).enhance(1.2),
        "grey.png": ImageOps.grayscale(img),
        "big.webp": img.resize((w * 3 // 2, h * 3 // 2)),
    }
    made = []
    for name, variant in variants.items():
        path = folder / f"{original.stem}-{name}"
        variant.save(path, quality=50) if name.endswith(".jpg") else variant.save(path)
        made.append(path)
    return made


def test_copies_are_near_and_distinct_photos_far(photos, tmp_path):
    hashes = {name: perceptual_hash(path) for name, path in photos.items()}
    assert all(h.shape == (near_copies.HASH_BYTES,) and h.dtype == np.uint8 for h in hashes.values())
    for name in ("astronaut", "coffee", "rocket"):
        for copy in _copies(photos[name], tmp_path):
            assert _distance(perceptual_hash(copy), hashes[name]) <= MAX_DISTANCE, copy.name
    names = list(hashes)
    apart = [_distance(hashes[a], hashes[b]) for i, a in enumerate(names) for b in names[i + 1:]]
    assert min(apart) > 2 * MAX_DISTANCE  # distinct photos are far beyond the threshold, not just past it


def test_a_crop_is_not_a_copy(photos, tmp_path):
    # Crops change which photo it is framing; the near-copy rule is for the same picture, not the same view.
    img = Image.open(photos["chelsea"])
    w, h = img.size
    img.crop((0, 0, w // 2, h // 2)).save(tmp_path / "corner.jpg")
    assert _distance(perceptual_hash(tmp_path / "corner.jpg"), perceptual_hash(photos["chelsea"])) > MAX_DISTANCE


def test_only_copies_of_the_same_class_are_found(photos, tmp_path):
    half, *_ = _copies(photos["coffee"], tmp_path)
    train = [str(photos["coffee"]), str(photos["rocket"])]
    val = [str(half), str(half), str(photos["astronaut"])]
    found = near_copies_of_training(train, [0, 1], ["c", "r"], val, [0, 1, 0], ["h", "h", "a"])
    # The copy under its own class is found; the same file under another class is a label problem, not a leak.
    assert found.tolist() == [True, False, False]


def test_a_photo_that_does_not_decode_has_no_hash_and_matches_nothing(photos, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a JPEG")
    missing = tmp_path / "missing.jpg"
    hashes, hashed = photo_hashes([str(broken), str(missing), str(photos["coffee"])], ["b", "", "c"])
    assert hashed.tolist() == [False, False, True]
    found = near_copies_of_training([str(broken)], [0], ["b"], [str(missing)], [0], [""])
    assert found.tolist() == [False]


def test_hashes_are_kept_by_content_and_made_once(photos, tmp_path, monkeypatch):
    store = HashStore(tmp_path / "store")
    paths = [str(photos["coffee"]), str(photos["rocket"])]
    first, _ = photo_hashes(paths, ["dc", "dr"], store)
    assert store.path.is_file()

    made = []
    real = near_copies.perceptual_hash
    monkeypatch.setattr(near_copies, "perceptual_hash", lambda p: made.append(p) or real(p))
    # The same contents under other names are read from the store; only the new photo is hashed.
    moved = tmp_path / "moved.jpg"
    moved.write_bytes(photos["coffee"].read_bytes())
    again, hashed = photo_hashes([str(moved), str(photos["chelsea"])], ["dc", "dh"], store)
    assert made == [str(photos["chelsea"])] and hashed.all()
    assert np.array_equal(again[0], first[0])
    assert sorted(store.load()[0].tolist()) == [b"dc", b"dh", b"dr"]


def test_a_damaged_store_is_made_again(photos, tmp_path):
    store = HashStore(tmp_path)
    store.path.write_bytes(b"not an npz")
    hashes, hashed = photo_hashes([str(photos["coffee"])], ["dc"], store)
    assert hashed.all() and store.load()[0].tolist() == [b"dc"]


def test_a_store_that_cannot_be_written_is_passed_over(photos, tmp_path):
    store = HashStore(tmp_path)
    store.path.mkdir()  # a folder where the file should go: neither readable nor replaceable, even as root
    hashes, hashed = photo_hashes([str(photos["coffee"])], ["dc"], store)
    assert hashed.all() and store.path.is_dir() and not len(store.load()[0])


WONDERS7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wonders7"


@pytest.mark.skipif(not WONDERS7.is_dir(), reason="the wonders7 photos are not on this machine")
def test_wonders7_copies_are_the_known_pairs_and_nothing_else():
    import pandas as pd

    table = pd.read_csv(WONDERS7 / "train.csv")
    paths = [str(WONDERS7 / "train" / i[0] / i[1] / i[2] / f"{i}.jpg") for i in table["id"]]
    hashes, hashed = photo_hashes(paths, [""] * len(paths))
    distance = np.bitwise_count(hashes[:, None, :] ^ hashes[None]).sum(-1)
    np.fill_diagonal(distance, 10_000)
    close = {tuple(sorted((table["id"][i], table["id"][j]))) for i, j in zip(*np.nonzero(distance <= MAX_DISTANCE))}
    # Five copies looked at by eye (resized, re-encoded, one drawing recoloured) and the two all-black photos.
    assert close == {("38ea55aa81b9c0b7", "f51f558e83ffd927"), ("51bfc841be5b36f2", "8711b20ac8924126"),
                     ("3e07c6abce037591", "cdecd3505bd80a3d"), ("0dab0f36851dcae2", "c7b17d1289bd7f6a"),
                     ("ed384bbf85e5072a", "f2576d06adc48f77"), ("c9898d9e19c1cdab", "ea1357dd61becd06")}
    assert all(table["landmark_id"][table["id"] == a].item() == table["landmark_id"][table["id"] == b].item()
               for a, b in close)


def test_a_store_in_another_order_is_made_again(photos, tmp_path):
    # The first store (December 2026) kept its digests in the order they came; lookups now need them sorted.
    store = HashStore(tmp_path)
    digests = np.array([b"dc", b"dr"])
    unsorted = digests[np.argsort(near_copies._keys(digests))[::-1]]
    np.savez(store.path, digests=unsorted, hashes=np.zeros((2, near_copies.HASH_BYTES), np.uint8))
    assert not len(store.load()[0])
    hashes, hashed = photo_hashes([str(photos["coffee"])], ["dc"], store)
    assert hashed.all() and hashes.any() and store.load()[0].tolist() == [b"dc"]


def test_digests_sharing_a_key_never_get_each_others_hash(photos, tmp_path, monkeypatch):
    store = HashStore(tmp_path)
    paths = [str(photos[name]) for name in ("coffee", "rocket", "chelsea")]
    truth, _ = photo_hashes(paths, ["d1", "d2", "d3"], store)
    monkeypatch.setattr(near_copies, "_keys", lambda digests: np.zeros(len(digests), np.uint64))  # every key the same
    again, hashed = photo_hashes(paths, ["d1", "d2", "d3"], store)
    assert hashed.all() and np.array_equal(again, truth)  # found or made again, never mixed up
