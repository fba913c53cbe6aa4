"""glr.data.folder_tree: a class folder's tree, listed as sorted(rglob("*")) lists it."""

import os

import pytest

from glr.data.folder_tree import folder_tree


def test_the_tree_is_what_sorted_rglob_gives_links_listed_not_entered(tmp_path):
    root = tmp_path / "Tower"
    for rel in ("b.jpg", "a/z.jpg", "a-c/1.jpg", "a/b/deep.png", ".hidden/x.jpg", "@eaDir/t.jpg", "Z.JPG", "é.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (root / "a" / "empty").mkdir()
    (root / "loop").symlink_to(root)  # a link loop: listed once, not entered
    (root / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    assert folder_tree(root) == sorted(root.rglob("*"))
    assert root / "loop" in folder_tree(root) and root / "loop" / "b.jpg" not in folder_tree(root)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_a_sub_folder_that_cannot_be_listed_is_passed_over_as_rglob_does(tmp_path):
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "1.jpg").write_bytes(b"x")
    (tmp_path / "2.jpg").write_bytes(b"x")
    (tmp_path / "locked").chmod(0)
    try:
        assert folder_tree(tmp_path) == sorted(tmp_path.rglob("*")) == [tmp_path / "2.jpg", tmp_path / "locked"]
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_entries_say_which_are_files_and_why_the_folder_itself_cannot_be_listed(tmp_path, monkeypatch):
    from glr.data.folder_tree import folder_entries
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "sub" / "a.jpg")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    assert folder_entries(tmp_path) == ([(("b.jpg",), True), (("gone.jpg",), False), (("sub",), False),
                                         (("sub", "a.jpg"), True)], None)
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p=".": real(p) if p != tmp_path else (_ for _ in ()).throw(
        PermissionError(13, "Permission denied", str(p))))
    assert folder_entries(tmp_path) == ([], "Permission denied")
