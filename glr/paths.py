"""Where glr keeps generated files: the weight cache and the embedded demo dataset."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """The user cache folder (converted weights, feature caches); `GLR_CACHE_DIR` overrides it."""
    env = os.environ.get("GLR_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "glr"
    return base.expanduser()


def demo_dir() -> Path:
    """Where the embedded demo dataset is generated; `GLR_DEMO_DIR` overrides it.

    The default sits inside the checkout under `data/`, which git ignores.
    """
    env = os.environ.get("GLR_DEMO_DIR")
    return Path(env).expanduser() if env else PROJECT_ROOT / "data" / "demo"
