"""The benchmark scripts still run: each in its tiny mode (a few tiny images, 1-2 epochs).

The benchmarks themselves are not tests: their figures are ratios on a noisy machine, and
they live in benchmarks/README.md. This only keeps the scripts from rotting.
"""

import importlib
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    yield lambda name: importlib.import_module(name)
    sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("name", ["bench_catalog", "bench_pipeline", "bench_predict", "bench_train", "bench_memory",
                                  "bench_index", "bench_embeddings", "bench_index_large", "bench_head",
                                  "bench_phase1", "bench_cold_train", "bench_flip_index", "bench_window_table",
                                  "bench_known_scores", "bench_near_copies", "bench_hash_store",
                                  "bench_regional", "bench_head_loss", "bench_posthoc_scores", "bench_confusion",
                                  "bench_evaluation", "bench_catalog_memory", "bench_read_names", "bench_exif_walk",
                                  "bench_colour", "bench_demo_draw", "bench_narrow_modes",
                                  "bench_iterator_end", "bench_trace", "bench_dataset_page", "bench_draft",
                                  "bench_extract", "bench_predict_page"])
def test_benchmark_runs_in_tiny_mode(bench, name, capsys):
    from glr.evaluation import finish

    own = {n: getattr(finish, n) for n in ("evaluate_run", "index_run")}
    bench(name).main(["--tiny"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("SUMMARY "), out[-5:]
    # A benchmark that times glr's steps by wrapping them gives them back: the later ones in this process
    # (and the tests after them) ran through bench_flip_index's timers.
    assert {n: getattr(finish, n) for n in own} == own


def test_bench_evaluation_measures_the_retrieval_step_in_tiny_mode(bench, capsys):
    bench("bench_evaluation").main(["--tiny", "--retrieval"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("SUMMARY "), out[-5:]


def test_a_childs_peak_rss_is_its_own_and_not_its_parents(bench, tmp_path):
    # Before, a child's ru_maxrss started at this parent's peak (Linux carries it over exec), so a light child
    # reported the parent's 0.94 GB as its own peak (bench_catalog_memory, session 29).
    common = bench("common")
    held = bytearray(400_000_000)
    held[::4096] = b"\1" * len(held[::4096])  # touched, so resident: the parent's peak is at least 0.4 GB
    del held
    assert common.peak_rss_gb() > 0.4
    script = tmp_path / "child.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(BENCHMARKS)!r})\nimport common\n"
                      f"print('peak', common.peak_rss_gb())\n")
    _, peak = common.run_child([str(script)])
    assert 0 < peak < 0.3


def test_the_peak_rss_started_again_is_of_what_follows_alone():
    # In a fresh process: in a test worker other threads' memory came and went around the 300 MB (CI: a peak of
    # 2.12 GB against 2.02 still resident after it was freed), so "freed" and "peak" measured them too.
    import subprocess

    code = (f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import common\n"
            "held = bytearray(300_000_000)\nheld[::4096] = b'\\1' * len(held[::4096])\ndel held\n"
            "before = common.current_rss_gb()\nassert common.peak_rss_gb() > before + 0.25, (common.peak_rss_gb(), before)\n"
            "assert not common.reset_peak_rss() or common.peak_rss_gb() < before + 0.05, (common.peak_rss_gb(), before)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_bench_memory_measures_only_the_backbones_asked_for_and_names_a_wrong_one(bench, capsys):
    # ResNet152's cases take many minutes on 2 shared cores: `--backbones efficientnet_lite0` runs the default alone.
    with pytest.raises(SystemExit):
        bench("bench_memory").main(["--backbones", "resnet50"])
    err = capsys.readouterr().err
    assert "resnet50" in err and "efficientnet_lite0" in err and "resnet152" in err


def test_a_benchmark_times_an_older_copy_of_a_module_given_with_old(bench, capsys):
    # bench_colour and bench_exif_walk load the module given with --old through common.old_module.
    bench("bench_exif_walk").main(["--tiny", "--old", str(BENCHMARKS.parent / "glr" / "data" / "decode_words.py")])
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("SUMMARY current ") and ", old " in summary


def test_the_empty_feature_cache_links_what_is_made_once_per_machine_and_nothing_made_per_photo(bench, tmp_path,
                                                                                                   monkeypatch):
    # The photo hashes were linked in: a "cold" train on a machine that had trained on the demo before found its
    # photos hashed (1.2-1.4 s of the run, session 36).
    from glr.cache_subdirs import DISTRACTORS_SUBDIR, EXTRACTORS_SUBDIR, FEATURES_SUBDIR, HASHES_SUBDIR

    common = bench("common")
    real = tmp_path / "real"
    once = ["weights", EXTRACTORS_SUBDIR, DISTRACTORS_SUBDIR]
    per_photo = [FEATURES_SUBDIR, HASHES_SUBDIR, "thumbnails", "onnx"]
    for name in once + per_photo:
        (real / name).mkdir(parents=True)
    monkeypatch.setenv("GLR_CACHE_DIR", str(real))
    with common.empty_feature_cache() as cache:
        assert sorted(p.name for p in cache.iterdir()) == sorted(once)
        assert all((cache / name).resolve() == (real / name).resolve() for name in once)
    assert os.environ["GLR_CACHE_DIR"] == str(real)
