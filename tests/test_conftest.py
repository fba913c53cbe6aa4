"""The suite's own set-up (tests/conftest.py): it leaves nothing behind in the temp folder."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_session_deletes_the_cache_and_demo_folders_it_made(tmp_path):
    # Each run of the suite left its converted weights (300 MB) and demo dataset in /tmp, for ever.
    env = {k: v for k, v in os.environ.items() if k not in ("GLR_CACHE_DIR", "GLR_DEMO_DIR")}
    env["TMPDIR"] = str(tmp_path)
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "test_probe.py").write_text(
        "import os\n"
        "def test_folders():\n"
        "    for name in ('GLR_CACHE_DIR', 'GLR_DEMO_DIR'):\n"
        "        folder = os.environ[name]\n"
        "        assert os.path.isdir(folder) and os.path.dirname(folder) == os.environ['TMPDIR']\n"
        "        open(os.path.join(folder, 'weights.npz'), 'w').write('x')\n")
    for helper in ("conftest.py", "session_dirs.py"):
        (probe / helper).write_text((ROOT / "tests" / helper).read_text())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(probe),
                           "-c", os.devnull, str(probe)], cwd=probe, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe"], list(tmp_path.iterdir())


def test_folders_given_by_the_user_are_kept(tmp_path):
    cache, demo = tmp_path / "cache", tmp_path / "demo"
    cache.mkdir(), demo.mkdir()
    env = dict(os.environ, GLR_CACHE_DIR=str(cache), GLR_DEMO_DIR=str(demo), TMPDIR=str(tmp_path))
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "test_probe.py").write_text("def test_nothing():\n    pass\n")
    for helper in ("conftest.py", "session_dirs.py"):
        (probe / helper).write_text((ROOT / "tests" / helper).read_text())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(probe),
                           "-c", os.devnull, str(probe)], cwd=probe, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert cache.is_dir() and demo.is_dir()
