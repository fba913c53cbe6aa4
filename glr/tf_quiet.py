"""TensorFlow's start-up notices on stderr, kept out of glr's output.

TensorFlow 2.21 writes its C++ start-up notices (oneDNN is on, no CUDA drivers, CPU features, "failed call to
cuInit" on a machine without a GPU) before absl's logging starts, so TF_CPP_MIN_LOG_LEVEL no longer hides them
(tensorflow/tensorflow#100442): seven lines above every command's own output, and in every run's train.log.
`install()` makes the process's first `import tensorflow` run with the stderr file descriptor captured (and list the
devices, where cuInit runs), then writes back every line that is not one of those notices: a warning or an error
of anything else still shows. A TF_CPP_MIN_LOG_LEVEL of 0 or 1 set by the user keeps everything.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

# The notices, by the source file that logs them. An absl line: severity, date, time, thread, file:line] text.
NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+ +\d+ (port|cudart_stub|cpu_feature_guard)\.cc:\d+\] .*"
    r"|E\d{4} [\d:.]+ +\d+ cuda_(platform|executor)\.cc:\d+\] failed call to cuInit: .*"
    r"|To enable the following instructions: .*, in other operations, rebuild TensorFlow with the appropriate "
    r"compiler flags\.")


def without_notices(text: str) -> str:
    """`text` (what TensorFlow's start wrote to stderr) without TensorFlow's start-up notices."""
    kept = [line for line in text.splitlines(keepends=True) if not NOTICE.fullmatch(line.rstrip("\r\n"))]
    return "".join(kept)


def wanted(user_level: str | None = None) -> bool:
    """Whether to hide the notices: unless the user asked TensorFlow for its info or warning lines (level 0 or 1;
    by default the level set before glr set its own, glr.USER_TF_LOG_LEVEL)."""
    import glr

    level = glr.USER_TF_LOG_LEVEL if user_level is None else user_level
    return (level or "").strip() not in ("0", "1")


@contextmanager
def stderr_filtered() -> Iterator[None]:
    """Capture what is written to file descriptor 2 in the block (C++ code's too), then write it back without the
    notices. The capture is a temporary file, not a pipe: nothing waits on a reader, so nothing can block."""
    try:
        real = os.dup(2)
    except OSError:  # no stderr at all (closed): nothing to keep clean
        yield
        return
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(real, 2)
            os.close(real)
            capture.seek(0)
            text = without_notices(capture.read().decode("utf-8", "replace"))
            if text:
                try:
                    sys.stderr.write(text)
                    sys.stderr.flush()
                except (OSError, ValueError):  # a stderr that cannot be written must not fail the import
                    pass


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, as Python would, and has its loading (and first device listing) filtered."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            with stderr_filtered():
                load(module)
                try:
                    module.config.list_physical_devices()  # cuInit runs here, with its line
                except Exception:  # noqa: BLE001 - the devices are TensorFlow's to report when they are used
                    pass

        spec.loader.exec_module = exec_module  # this module's loader only (an instance attribute)
        return spec


def install() -> None:
    """Have the process's first `import tensorflow` filtered; nothing if TensorFlow is imported already, or the
    user asked for TensorFlow's lines."""
    if "tensorflow" in sys.modules or not wanted() or any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlow())


def uninstall() -> None:
    """Undo `install` (the finder removes itself on first use)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietTensorFlow)]
