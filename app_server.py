"""What the app changes in Streamlit's server process, once: imported by app_common, so before any page runs.

Not a page itself: it lives beside app.py, not in pages/, because Streamlit makes a page of every
.py file in pages/. It touches only Streamlit's own machinery, never a session's state.
"""

from __future__ import annotations

import sys


def _clean_matplotlib_only() -> None:
    """What Streamlit's per-run clean-up does, less Keras: close matplotlib's figures."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _skip_keras_cleanup() -> None:
    """Stop Streamlit from clearing Keras' state after every script run of every session.

    Once keras is imported (a Grad-CAM, the Train page's version record), Streamlit 1.67 calls
    keras.backend.clear_session() after each run (script_runner._clean_problem_modules): a full
    garbage collection that holds the GIL, so every other session waits (7% of the server's
    time at 4-8 users, benchmarks/README.md), and a reset of the Keras state another session's
    Grad-CAM may be using at that moment. glr keeps its models in st.cache_resource and needs
    no clearing. Without that private hook (another Streamlit version) nothing changes.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if callable(getattr(script_runner, "_clean_problem_modules", None)):
        script_runner._clean_problem_modules = _clean_matplotlib_only


_skip_keras_cleanup()  # once per server process: this module is imported once, pages rerun
