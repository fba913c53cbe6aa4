"""The Dataset page's upload form: a dataset made from a zip of class folders, or from photos dropped per class.

Not a page (Streamlit makes a page of every .py file in pages/): it lives beside app.py, as app_common.py
does. The photos are checked and kept on disk as they are dropped (glr.data.staging), so hiding the form,
another page or a refresh loses none.

Memory. Streamlit keeps the bytes of every file in an upload box in the server's memory until the user
takes it out of the box (its ✕ sends a DELETE) or the session ends: giving the box a new key, or hiding
it, frees nothing (Streamlit 1.67: nothing else removes a file from its MemoryUploadedFileManager). A
session that dropped 2,000 phone photos held 8-16 GB. So each file is released as soon as it is kept
(or refused): removed from the upload manager, as Streamlit's own st.chat_input does with its files,
and its UploadedFile emptied (session state holds the widget's values of the last two runs). The box
keeps its key and lists the file, whose ✕ still takes the photo out: `listed` reads the box's raw state,
where a released file is a DeletedFile. (A new key would lose a batch dropped, or still uploading, while
the one before is checked.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from glr import paths
from glr.data import datasets
from glr.data import from_uploads
from glr.data import staging
from glr.data import uploads
from glr.errors import GlrError
import app_common as common
import app_photos

CLASS_COUNT_KEY = "upload_class_count"  # how many "photos per class" boxes the form shows
BUILT_KEY = "upload_built"  # the dataset just made: (path, counts, problems)
STAGING_KEY = "upload_staging"  # this session's key of glr.data.staging, where dropped photos are kept
ROUND_KEY = "upload_rounds"  # upload box -> its round, part of its key (see round_of)
HANDLED_KEY = "upload_handled"  # upload box -> {file id of a file in it: the photo_name it was kept as, "" if refused}
# staging slot -> [(the upload ids of the files a problem is about, or none: until the slot is cleared), the problem]
DROP_PROBLEMS_KEY = "upload_drop_problems"
KEPT_KEY = "upload_kept"  # this session kept photos and has not discarded them all: their loss is said
SHOWN_PICKED = 12  # thumbnails shown of the kept photos picked for removal: a check, not a gallery


def staging_box() -> staging.Staging:
    """This session's kept photos. Its key is also in the URL, so a refresh of this page finds them again."""
    key = st.session_state.get(STAGING_KEY) or st.query_params.get("upload")
    if not staging.is_key(key):
        key = staging.new_key()
        staging.prune(spare=key)  # once per session: the stagings of old sessions go
    st.session_state[STAGING_KEY] = key
    if st.query_params.get("upload") != key:
        st.query_params["upload"] = key
    box = staging.Staging(key)
    if st.session_state.get(KEPT_KEY) and not box.path.is_dir():  # not by this session: said, not silent
        st.session_state.pop(KEPT_KEY)
        st.warning(f"The photos kept in this form were cleared: kept photos untouched for "
                   f"{staging.MAX_AGE_SECONDS // 3600} hours, or beyond the {staging.MAX_STAGINGS} most recently "
                   "used on this server, are removed. Drop them again.")
    return box


def round_of(box_key: str) -> int:
    """Part of an upload box's key: a new round empties the box (after "Remove them", or the dataset made)."""
    return st.session_state.get(ROUND_KEY, {}).get(box_key, 0)


def upload_box(box_key: str, widget_key: str) -> dict[str, str]:
    """The files kept from the upload box `box_key` (file id -> photo_name), drawn next as `widget_key`; none
    when it comes back (empty) after it was not drawn: another source, page or way of uploading."""
    handled = st.session_state.setdefault(HANDLED_KEY, {})
    if widget_key not in st.session_state:
        handled[box_key] = {}
    return handled.setdefault(box_key, {})


def listed(widget_key: str) -> list:
    """What the upload box `widget_key` lists, as the browser shows it: its files, a released one as a DeletedFile.

    (st.file_uploader leaves the released files out of what it returns: their photos would be taken for removed.)
    """
    value = st.session_state.get(widget_key)
    return [] if value is None else value if isinstance(value, list) else [value]


def release(files: list, handled: dict[str, str]) -> None:
    """Free the server's memory of the files in `files` kept (or refused) already: see the module's docstring."""
    ctx = get_script_run_ctx()
    remove = getattr(getattr(ctx, "uploaded_file_mgr", None), "remove_file", None)
    for file in files:
        if file.file_id not in handled or not hasattr(file, "truncate"):  # not checked yet, or a DeletedFile
            continue
        if remove is not None:
            try:
                remove(session_id=ctx.session_id, file_id=file.file_id)
            except Exception:  # noqa: BLE001 - another Streamlit's manager: its memory is held, nothing is lost
                pass
        file.seek(0)
        file.truncate()


def empty_box(box_key: str) -> None:
    """Draw the upload box `box_key` empty from the next run on (its files are kept or discarded)."""
    rounds = st.session_state.setdefault(ROUND_KEY, {})
    rounds[box_key] = rounds.get(box_key, 0) + 1
    st.session_state.setdefault(HANDLED_KEY, {}).pop(box_key, None)


def keep(box: staging.Staging, slot: str, drop: Callable[[], list[tuple[tuple[str, ...], str]]]) -> None:
    """Check and keep photos dropped: `drop()` keeps them and returns the problems (with the ids of the files they
    are about), said under `slot`'s box."""
    with st.spinner("Checking the photos..."):  # its end may cut the run (another drop): drop() recorded them
        found = st.session_state.setdefault(DROP_PROBLEMS_KEY, {})
        try:
            found[slot] = found.get(slot, []) + drop()
        except OSError as exc:  # the uploads folder is read-only, full, or a file
            blocker = paths.file_in_the_way(box.path)
            found[slot] = [((), f"{blocker} is a file, not a folder: no photo can be kept or dataset made under "
                                f"{paths.uploads_dir()}; set GLR_UPLOADS to a folder" if blocker
                            else f"the photos cannot be kept in {box.path}: {exc.strerror or exc}")]
        if box.slots():
            st.session_state[KEPT_KEY] = True


def forget(box: staging.Staging, slot: str | None = None, empty: bool = True) -> None:
    """Discard the photos kept in `slot` (every slot: None) and what their drop met; `empty`: their upload box too."""
    box.clear(slot)
    if slot is None:
        st.session_state.pop(KEPT_KEY, None)
    found = st.session_state.setdefault(DROP_PROBLEMS_KEY, {})
    for name in [slot] if slot else list(found):
        found.pop(name, None)
    boxes = list(st.session_state.get(HANDLED_KEY, {})) if slot is None else ["zip" if slot[:4] == "zip-" else slot]
    for box_key in boxes if empty else []:
        empty_box(box_key)


def drop_problems(slots: list[str], present: set[str] | None = None) -> list[str]:
    """The problems met when the photos of `slots` were dropped; `present`: the ids of the files in their box,
    whose own problems only are kept (a file taken out of its box takes its warning with it)."""
    found = st.session_state.get(DROP_PROBLEMS_KEY, {})
    if present is not None:
        for slot in slots:
            if slot in found:
                found[slot] = [(ids, problem) for ids, problem in found[slot] if not ids or set(ids) & present]
    return [problem for slot in slots for _, problem in found.get(slot, [])]


def zip_box(box: staging.Staging) -> dict[str, list]:
    """The zip's upload box, and the classes kept from the zip dropped last (name -> [(file name, path)])."""
    widget_key = f"upload_zip_{round_of('zip')}"
    handled = upload_box("zip", widget_key)
    st.file_uploader("A zip holding one folder per class: <class name>/<photo>.jpg", type=["zip"], key=widget_key)
    archive = next(iter(listed(widget_key)), None)
    if handled and (archive is None or archive.file_id not in handled):  # taken out of the box (its ✕), or replaced
        handled.clear()
        for slot in box.slots("zip-"):
            forget(box, slot, empty=False)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {}).pop("zip-0", None)
    if archive is not None and archive.file_id not in handled and hasattr(archive, "getvalue"):
        classes, found = from_uploads.classes_from_zip(archive.getvalue(), archive.name)
        for slot in box.slots("zip-"):  # a new zip replaces the one kept
            forget(box, slot, empty=False)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {})["zip-0"] = [((), problem) for problem in found]

        def drop() -> list[tuple[tuple[str, ...], str]]:
            handled[archive.file_id] = "zip"  # first: a damaged zip is not read again on every run
            try:
                return [((), problem) for i, (label, photos) in enumerate(classes.items())
                        for problem in box.add(f"zip-{i}", photos, label)[1]]
            except OSError:  # a full disk: kept in memory, and tried again at the next run once there is room
                handled.pop(archive.file_id, None)
                raise

        keep(box, "zip-0", drop)
    release([archive] if archive is not None else [], handled)
    labels = box.labels()
    kept = {labels.get(slot, slot): [(p.name, p) for p in box.photos(slot)] for slot in box.slots("zip-")}
    if kept and st.button("Remove the zip's photos", key="upload_clear_zip", icon=":material/delete:"):
        for slot in box.slots("zip-"):
            forget(box, slot)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {}).pop("zip-0", None)
        st.rerun()
    # "zip-0" once: it is also the first class's slot, and its problems were said twice.
    for problem in drop_problems(list(dict.fromkeys(["zip-0", *box.slots("zip-")]))):
        st.warning(common.md(problem))
    return kept


def dataset_name(box: staging.Staging) -> tuple[str, str | None]:
    """The dataset name box (kept with the photos, so a refresh shows it again); the name and why it cannot be used."""
    if "upload_name" not in st.session_state and box.name():  # a new session: a refresh, or the page's address
        st.session_state["upload_name"] = box.name()
    # max_chars: a name is a folder's, at most MAX_NAME characters; a longer one pasted is cut where it shows.
    name = st.text_input("Dataset name", key="upload_name", placeholder="e.g. my landmarks", persist_state="session",
                         max_chars=from_uploads.MAX_NAME)
    if not name.strip():
        return name, "name the dataset"
    if problem := from_uploads.name_problem(name, dataset=True):
        st.warning(common.md(problem))  # said as typed, not only once Make is clicked
    return name, problem


def earlier_photos(box: staging.Staging, slot: str, listed_names: set[str], where) -> None:
    """The photos of `slot` its upload box does not list (kept before a refresh, or while the form was hidden),
    which have no ✕ there: picked by name in an expander, with thumbnails of those picked, and removed."""
    earlier = [p for p in box.photos(slot) if p.name not in listed_names]
    if not earlier:
        return
    names = box.names(slot)
    shown = {p.name: names.get(p.name) or f"photo {i + 1}" for i, p in enumerate(earlier)}
    twice = {n for n in shown.values() if list(shown.values()).count(n) > 1}
    with where.expander(f"{datasets.plural(len(earlier), 'photo')} kept earlier: see or remove one"):
        # The count in the key: a fresh pick once photos are removed (a removed one cannot stay picked).
        picked = st.multiselect("Photos to remove", list(shown), key=f"upload_pick_{slot}_{len(earlier)}",
                                format_func=lambda n: f"{shown[n]} ({n[:6]})" if shown[n] in twice else shown[n],
                                placeholder="type a file name or pick from the list")
        if picked:
            app_photos.show_thumbnails([str(box.path / slot / n) for n in picked[:SHOWN_PICKED]], size=110,
                                       captions=[shown[n] for n in picked[:SHOWN_PICKED]])
        if st.button(f"Remove {datasets.plural(len(picked), 'photo')}" if picked else "Remove",
                     key=f"upload_remove_{slot}", disabled=not picked, icon=":material/delete:"):
            box.remove(slot, picked)
            st.rerun()


def class_boxes(box: staging.Staging) -> dict[str, list]:
    """One name and one upload box per class; the classes named whose photos are kept (name -> [(file name, path)])."""
    classes, recorded, named = {}, box.labels(), {}  # named: a class name, casefolded -> its first box
    # After a refresh (a new session), as many boxes as the kept photos and the names typed need, named as they were.
    kept_boxes = [int(slot.split("-")[1]) + 1 for slot in set(box.slots("class-")) | set(recorded) if slot[:6] == "class-"]
    count = st.session_state[CLASS_COUNT_KEY] = max([st.session_state.get(CLASS_COUNT_KEY, 2), *kept_boxes])
    for i in range(count):
        slot = f"class-{i}"
        c = st.columns([1, 3])
        label = c[0].text_input(f"Class {i + 1}", value=recorded.get(slot, ""), key=f"upload_class_{i}",
                                placeholder="class name", persist_state="session",
                                max_chars=from_uploads.MAX_NAME).strip()
        widget_key = f"upload_photos_{i}_{round_of(slot)}"
        handled = upload_box(slot, widget_key)
        c[1].file_uploader(f"Photos of class {i + 1}", type=list(uploads.IMAGE_TYPES), accept_multiple_files=True,
                           key=widget_key)
        # The box keeps its files (a new key emptied it after each drop, and lost a batch dropped, or still
        # uploading, while the one before was checked): each file is kept once, by its upload's id.
        files = listed(widget_key)
        if {f.file_id for f in files} != set(handled):  # a drop, or a file taken out (its ✕)
            keep(box, slot, lambda: box.sync(slot, handled, [
                (f.file_id, f"{label or f'class {i + 1}'}/{f.name}", f.getvalue) if hasattr(f, "getvalue")
                else (f.file_id, "", None) for f in files], label or None))
        release(files, handled)
        kept = box.photos(slot)
        if kept:
            k = c[1].container(horizontal=True, vertical_alignment="center")
            k.caption(f"{datasets.plural(len(kept), 'photo')} kept for {common.md(label) if label else f'class {i + 1}'}")
            if k.button("Remove them", key=f"upload_clear_{slot}", icon=":material/delete:"):
                forget(box, slot)
                st.rerun()
            earlier_photos(box, slot, set(handled.values()), c[1])
        for problem in drop_problems([slot], {f.file_id for f in files}):
            c[1].warning(common.md(problem))
        if recorded.get(slot, "") != label:  # also with no photo yet: a refresh shows it again
            box.set_label(slot, label)
        if kept and (problem := from_uploads.name_problem(label) if label else "the class has no name"):  # said now; at Make its photos were skipped, then deleted
            c[1].warning(f"{datasets.plural(len(kept), 'photo')} not in the dataset until the class is named again: "
                         f"{common.md(problem)}")
        elif kept:
            if (first := named.setdefault(label.casefold(), i)) != i:  # said now, not only once the dataset is made
                c[1].warning(f"Named like class {first + 1}: their photos make one class.")
            classes.setdefault(label, []).extend((p.name, p) for p in kept)
    if st.button("Add a class", key="upload_add_class", icon=":material/add:"):
        st.session_state[CLASS_COUNT_KEY] = count + 1
        st.rerun()
    return classes


def upload_form() -> None:
    """Make a dataset from uploads: a zip of class folders, or photos dropped per class (Teachable Machine style)."""
    st.caption(f"The photos are checked as they are dropped and kept in {common.md(paths.uploads_dir())} until the "
               "dataset is made or they are removed, so hiding this form loses nothing; then copied into a new dataset "
               "folder there, one folder per class. A zip is read in memory: a member whose path leaves its folder is "
               f"refused, and at most {uploads.ZIP_MAX_FILES:,} photos and {uploads.ZIP_MAX_BYTES // uploads.MB} MB "
               "are taken.")
    box = staging_box()
    name, name_problem = dataset_name(box)
    how = st.radio("Photos", ["A zip of class folders", "Photos per class"], horizontal=True, key="upload_how",
                   persist_state="session")
    by_zip = how == "A zip of class folders"
    classes = zip_box(box) if by_zip else class_boxes(box)
    box.set_name(name)  # after the boxes: the first photos kept make the staging folder that keeps it
    if elsewhere := sum(len(box.photos(slot)) for slot in box.slots("class-" if by_zip else "zip-")):
        st.caption(f"Also kept: {datasets.plural(elsewhere, 'photo')} " + (
            "dropped per class; choose “Photos per class” to see them." if by_zip
            else "from a zip; choose “A zip of class folders” to see them."))
    # A zip's folder names are said before Make, as the per-class form says a name as it is typed: they were listed
    # "ready" and refused only by Make.
    refused = {label: why for label in classes if (why := from_uploads.name_problem(label))}
    if ready := sorted((label, photos) for label, photos in classes.items() if label not in refused):
        st.caption("Kept, ready for the dataset: " + ", ".join(f"{common.md(label)} ({len(photos)})" for label, photos in ready))
    for group in from_uploads.same_folder_groups(label for label, _ in ready):  # merged by Make: said now, once
        st.warning(common.md(f"{' and '.join(group)} name the same folder (letters that differ only in case, or '_' "
                             "for a space): their photos make one class. Rename a folder in the zip to keep them apart"))
    for label, why in sorted(refused.items()):
        st.warning(common.md(f"{why}. Its {datasets.plural(len(classes[label]), 'photo')} will be left out of the "
                             "dataset: rename that folder in the zip"))
    if st.button("Make the dataset", key="upload_build", icon=":material/create_new_folder:", type="primary",
                 disabled=not ready or name_problem is not None):
        try:
            with st.spinner("Copying the photos..."):
                built = from_uploads.build_dataset(name, classes)
                # Inside the spinner: a second click cuts the run at its end, and its rerun must find the
                # photos gone (Make disabled), not make the dataset again ("already exists").
                used = sorted({path.parent.name for photos in classes.values() for _, path in photos})
                met = drop_problems(used)
                for slot in used:  # the dataset holds them now; photos of an unnamed class stay, with their warning
                    forget(box, slot)
                if not box.slots():
                    forget(box)
                # The name is taken now: left in its box, it was said to be so under the dataset just made.
                box.set_name("")
                st.session_state.pop("upload_name", None)
                st.session_state[BUILT_KEY] = (str(built.path), built.counts, met + built.problems)
                box.set_built(*st.session_state[BUILT_KEY])  # a refresh meanwhile found the photos gone, unsaid
        except GlrError as exc:
            st.error(common.md(exc))
        else:
            st.rerun()  # the form above was drawn with the photos kept: draw it again without them
    built = st.session_state.get(BUILT_KEY) or box.built()
    if built and Path(built[0]).is_dir():
        path, counts, found = built
        st.success(f"Made {common.md(path)}: {datasets.plural(len(counts), 'class')}, "
                   f"{datasets.plural(sum(counts.values()), 'photo')}.")
        for problem in found:
            st.warning(common.md(problem))
        if st.button("Use this dataset", key="upload_use", icon=":material/check:"):
            st.session_state.pop(BUILT_KEY, None)
            box.set_built(None)
            common.use_dataset(path)
            st.rerun()

