"""glr.cache_folder and `python -m glr cache`: sizes, stale parts, pruning and clearing the user cache."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glr import cache_folder
from glr.backbones.feature_cache import FeatureCache, decode_tag
from glr.cache_subdirs import DISTRACTORS_VERSION
from glr.errors import GlrError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder as a user's looks after upgrades: current features, features of older decode rules, weights."""
    root = tmp_path / "cache"
    monkeypatch.setenv("GLR_CACHE_DIR", str(root))
    store = FeatureCache(root / "features", "efficientnet_lite0-224-imagenet")
    store.save("ab" * 20, 0, np.arange(4, dtype=np.float32))
    old = root / "features" / "efficientnet_lite0-224-imagenet" / "view0-draft0.8" / "ab"
    old.mkdir(parents=True)
    (old / f"{'ab' * 20}.npy").write_bytes(b"x" * 1000)
    (root / "weights").mkdir()
    (root / "weights" / "efficientnet_lite0-imagenet.weights.h5").write_bytes(b"w" * 500)
    for version in (0, DISTRACTORS_VERSION):
        (root / "distractors" / f"v{version}").mkdir(parents=True)
        (root / "distractors" / f"v{version}" / "0.jpg").write_bytes(b"j" * 100)
    return root, store


def test_stale_folders_are_told_apart_and_sized(cache):
    root, _ = cache
    parts = {str(p.path.relative_to(root)): p for p in cache_folder.cache_parts()}
    stale = {name for name, p in parts.items() if p.stale}
    assert stale == {"features/efficientnet_lite0-224-imagenet/view0-draft0.8", "distractors/v0"}
    assert parts["features/efficientnet_lite0-224-imagenet/view0-draft0.8"].bytes == 1000
    # The features part counts only what this version reads: the stale folder is not counted twice.
    assert parts["features"].files == 1 and parts["features"].bytes < 1000
    assert parts["weights"].bytes == 500 and parts["distractors"].files == 1
    text = cache_folder.describe(list(parts.values()))
    assert "stale  features/efficientnet_lite0-224-imagenet/view0-draft0.8" in text
    assert "`python -m glr cache --prune` removes it" in text


def test_prune_removes_only_what_no_version_reads_again(cache):
    root, store = cache
    removed = cache_folder.prune_stale()
    assert {p.path.name for p in removed} == {"view0-draft0.8", "v0"}
    assert not (root / "features" / "efficientnet_lite0-224-imagenet" / "view0-draft0.8").exists()
    vectors, found = store.load(["ab" * 20], 0)  # the current features are still read
    assert found.all() and np.array_equal(vectors[0], np.arange(4, dtype=np.float32))
    assert (root / "distractors" / f"v{DISTRACTORS_VERSION}" / "0.jpg").is_file()
    assert all(view.name.endswith(decode_tag()) for view in (root / "features").glob("*/*"))
    assert "nothing stale" in cache_folder.describe(cache_folder.cache_parts())


def test_clear_keeps_the_converted_weights(cache, tmp_path):
    root, _ = cache
    cache_folder.clear_cache(results=tmp_path / "results")
    assert sorted(p.name for p in root.iterdir()) == ["weights"]
    assert (root / "weights" / "efficientnet_lite0-imagenet.weights.h5").is_file()


def test_clear_is_refused_while_a_run_trains(cache, tmp_path):
    from glr.training.launch import acquire_lock, release_lock

    root, _ = cache
    results = tmp_path / "results"
    acquire_lock(results, "20261203-run", pid=os.getpid())  # this process is alive, like a trainer
    try:
        with pytest.raises(GlrError, match="run 20261203-run is training and uses the cache"):
            cache_folder.clear_cache(results=results)
        assert (root / "features").is_dir()
        assert cache_folder.prune_stale()  # pruning only touches what nothing reads: allowed
    finally:
        release_lock(results, "20261203-run")


def test_an_empty_cache_says_so(tmp_path):
    assert cache_folder.cache_parts(tmp_path / "none") == []
    assert cache_folder.describe([], tmp_path / "none") == f"{tmp_path / 'none'}: empty (nothing cached yet)"


def test_sizes_read_as_people_write_them():
    assert [cache_folder.size_text(n) for n in (0, 912, 1_500, 912_000, 12_300_000, 1_100_000_000)] == [
        "0 B", "912 B", "1.5 KB", "912 KB", "12 MB", "1.1 GB"]


def test_the_cache_command_lists_prunes_and_clears(cache, tmp_path, capsys):
    from glr.cli import main

    root, _ = cache
    assert main(["cache"]) == 0
    assert "stale  distractors/v0" in capsys.readouterr().out
    assert main(["cache", "--prune"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed 2 folders, 1.1 KB") and "nothing stale" in out
    assert main(["cache", "--clear", "--results", str(tmp_path / "results")]) == 0
    assert sorted(p.name for p in root.iterdir()) == ["weights"]


def assert_stale_under(cache, older_tag: str, ending: str) -> None:
    """A feature folder named by older decoding rules (`older_tag`, ending in `ending`) is listed as stale."""
    root, _ = cache
    before = root / "features" / "efficientnet_lite0-224-imagenet" / f"view0{older_tag}"
    before.mkdir(parents=True)
    assert before.name.endswith(ending)
    stale = {str(p.path.relative_to(root)) for p in cache_folder.cache_parts() if p.stale}
    assert str(before.relative_to(root)) in stale


def test_features_cached_before_photos_were_coloured_and_turned_as_chromium_shows_them_are_stale(cache):
    # Session 29 changed the pixels of PNGs with gAMA+cHRM or cICP, AVIFs with nclx, and WebPs with an EXIF turn:
    # features cached under the rules before ("...-srgb") would give those photos the old pixels' vectors.
    assert_stale_under(cache, decode_tag().split("-cicp")[0], "-srgb")


def test_features_cached_before_heic_nclx_and_png_video_transfers_were_applied_are_stale(cache):
    # Session 30 applies a HEIC's nclx colours and decodes a PNG cICP's BT.709 transfer as Chromium does: features
    # cached under session 29's rules ("...-cicp") would give those photos the old pixels' vectors.
    assert_stale_under(cache, decode_tag().split("-heic")[0], "-cicp")


def test_features_cached_before_grey_profiles_applied_to_every_grey_are_stale(cache):
    # Session 32 applies a grey profile to 16-bit, keyed and see-through greys (and no longer an RGB profile on them):
    # features cached under session 30's rules ("...-heic") would give those photos the old pixels' vectors.
    assert_stale_under(cache, decode_tag().removesuffix("-grey"), "-heic")


def test_listing_and_pruning_the_cache_import_no_pandas_numpy_nor_pil(tmp_path):
    # glr.cache_folder took `plural` from glr.data.layouts (pandas, 0.4 s), the folders' names from the modules that
    # fill them (numpy) and the distractors' version from glr.demo.distractors (numpy, pandas): 0.6-1 s of imports
    # to print a few sizes. Telling stale features apart took the decode rules from glr.backbones.feature_cache
    # (numpy, PIL): they are glr.data.decode_rules' now.
    heavy = ("pandas", "numpy", "PIL", "pyarrow", "tensorflow")
    features = "features/efficientnet_lite0-224-imagenet"
    for folder in ("weights", "photo-hashes", "thumbnails", "distractors/v0", f"distractors/v{DISTRACTORS_VERSION}",
                   f"{features}/view0-draft0.8/ab", f"{features}/view0{decode_tag()}/ab"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "a").write_bytes(b"x" * 10)
    code = (f"import sys; from glr import cache_folder as c; root = {str(tmp_path)!r}\n"
            "print(c.describe(c.cache_parts(root), root)); print([p.path.name for p in c.prune_stale(root)])\n"
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "stale  distractors/v0" in out and f"stale  {features}/view0-draft0.8" in out, out
    assert out.strip().splitlines()[-2:] == ["['view0-draft0.8', 'v0']", "[]"], out


def test_the_cache_folders_owners_write_where_the_cache_lists(tmp_path, monkeypatch):
    # The owners take the folders' names from glr.cache_subdirs, as glr.cache_folder does (they held copies).
    from glr.backbones.onnx_features import extractor_path
    from glr.data.near_copies import default_store
    from glr.demo import distractors
    from glr.training.settings import resolve

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    drawn_in = []
    monkeypatch.setattr(distractors, "generate_scenes", lambda folder, n: drawn_in.append(Path(folder)) or [])
    distractors.distractor_set()
    features = resolve({"backbone": "efficientnet_lite0", "weights": "imagenet"}).feature_cache()
    written = {"extractors": extractor_path("k").parent, "features": features.root,
               "photo-hashes": default_store().path.parent, "distractors": drawn_in[0].parent}
    assert {name: folder.relative_to(tmp_path).as_posix() for name, folder in written.items()} == {
        name: name for name in written}
    assert set(written) <= set(cache_folder.PARTS) and drawn_in[0].name == f"v{DISTRACTORS_VERSION}"
