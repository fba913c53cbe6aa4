"""glr.data.from_uploads: the names a dataset made in the browser may take."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from glr.data.datasets import load_catalog
from glr.data.from_uploads import build_dataset, folder_name
from glr.errors import DatasetError


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", [".trip", "__MACOSX", ".git"])
def test_a_name_glr_would_pass_over_when_reading_is_refused(name):
    with pytest.raises(DatasetError, match="a hidden or system folder's name, which glr does not read"):
        folder_name(name, "class name")


def test_a_class_named_like_a_hidden_folder_is_skipped_with_a_message_not_lost(tmp_path):
    # A class typed as ".tower" was written as the folder .tower/, which the class-folder reader
    # passes over: its photos were in the dataset on disk and never in a catalog.
    built = build_dataset("trip", {".tower": [("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))],
                                   "bridge": [("c.jpg", _jpeg(3)), ("d.jpg", _jpeg(4))],
                                   "gate": [("e.jpg", _jpeg(5)), ("f.jpg", _jpeg(6))]}, root=tmp_path)
    assert built.counts == {"bridge": 2, "gate": 2}
    assert built.problems[0].startswith("class name '.tower': a hidden or system folder's name")
    assert not (built.path / ".tower").exists()
    assert sorted(set(load_catalog(built.path).df["name"])) == ["bridge", "gate"]
