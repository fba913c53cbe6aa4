"""glr.training.folder_identity: a copy of a run folder is told apart from the folder its training writes into."""

import os
import shutil

from glr.training.folder_identity import COPIED_MESSAGE, copy_message, folder_identity


def test_a_copy_is_not_the_folder_but_a_rename_on_the_same_disk_is(tmp_path):
    live = tmp_path / "runs" / "a"
    live.mkdir(parents=True)
    recorded = folder_identity(live)
    assert recorded == {"path": str(live), "inode": os.stat(live).st_ino}
    assert copy_message(live, recorded) is None
    shutil.copytree(live, tmp_path / "runs" / "a-copy")
    assert copy_message(tmp_path / "runs" / "a-copy", recorded) == COPIED_MESSAGE.format(original=live)
    os.rename(live, tmp_path / "runs" / "renamed")  # `mv`: the same folder, which its training still writes into
    assert copy_message(tmp_path / "runs" / "renamed", recorded) is None


def test_a_status_without_the_field_or_with_a_malformed_one_is_read_as_before(tmp_path):
    for recorded in (None, {}, {"inode": "12"}, {"inode": True}, [1, 2], "x"):
        assert copy_message(tmp_path, recorded) is None, recorded
    assert copy_message(tmp_path / "gone", {"inode": 1}) is None  # a folder that cannot be looked at: the pid decides
    assert folder_identity(tmp_path / "gone") is None
