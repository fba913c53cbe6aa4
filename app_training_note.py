"""The sidebar's note of a training going on, on every page, and the toast when the training a session watched ends.

app_common.setup() draws both; this module reads app_common's names when called (it imports app_common, which
imports this module inside setup()).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from glr.training import run_table
from glr.training.run import Run
from glr.training.status import ACTIVE_STATES
from app_common import ENDED_KEY, TRAIN, WATCHED_KEY, md

ENDINGS = {  # how a toast announces the end of a training: (verb, icon)
    "finished": ("finished", ":material/check_circle:"),
    "stopped": ("stopped", ":material/stop_circle:"),
    "failed": ("failed", ":material/error:"),
    "damaged": ("cannot be read", ":material/error:"),
}


def badge(run_path: str) -> None:
    """The sidebar's note of the training going on, re-read every POLL_SECONDS; reruns the page once it ends."""
    run = Run(run_path)
    status = run.status()
    if status["state"] not in ACTIVE_STATES:
        st.rerun()  # the whole page: setup() announces the end, and the page drops its live view
    _, text = run_table.progress_of(status)
    st.info(f"Training {md(run.label())}: {text}", icon=":material/hourglass_top:")
    st.page_link(TRAIN, label="Follow it", icon=":material/model_training:")


def announce_ended_training(results: Path) -> None:
    """A toast, on whatever page is open, when the training this session watched has ended (once)."""
    run_id = st.session_state.get(WATCHED_KEY)
    if not run_id:
        return
    run = Run.of(results, run_id)
    if not run.path.is_dir():  # deleted, or the results folder changed
        st.session_state.pop(WATCHED_KEY, None)
        return
    status = run.status()
    if status["state"] in ACTIVE_STATES:
        return
    st.session_state.pop(WATCHED_KEY, None)
    st.session_state[ENDED_KEY] = run_id
    verb, icon = ENDINGS.get(status["state"], (status["state"], ":material/info:"))
    message = status.get("message") or ""
    st.toast(f"Training {md(run.label())} {verb}" + (f": {md(message)}" if message else ""), icon=icon, duration="long")
