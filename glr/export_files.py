"""The export's own files as the exported predict.py reads them (glr.export_script): its JSON files, labels.json's
classes in glr's order and names, and the checks that say which file a hand edit or a bad copy broke.

Python source, pasted into predict.py as it is (not a format template). People open labels.json to rename a class,
in an editor that may save it with a byte-order mark (Windows Notepad's "UTF-8 with BOM"); they delete a class, or
copy in another run's file. Each is said naming the file and what to do, never an IndexError or a KeyError traceback
part way through a folder of photos. It uses what predict.py defines before it: HERE and KEEP_TOGETHER.
"""

from __future__ import annotations


def source() -> str:
    """SOURCE with glr's rule for a class's name (glr.training.run.class_names) copied in before it."""
    import inspect

    from glr.training.run import class_names

    return inspect.getsource(class_names) + "\n\n" + SOURCE


SOURCE = r'''AGAIN = "unzip the export again, or export the run again"
# What predict.py reads of preprocessing.json and verdict.json, and of what type: a field deleted or made text by hand
# was a KeyError or TypeError traceback at the first photo.
NUMBER = (int, float)
NEEDS = {"preprocessing.json": {"resize_to": int, "input_size": int},
         "verdict.json": {"threshold": NUMBER, "known_score": str, "known_head_weight": NUMBER, "method": str,
                          "knn_k": int, "blend_weight": NUMBER}}
# The values glr.export_verdict writes, where a type is not enough: a method predict.py ranks by, at least one neighbour.
ALLOWED = {"method": ("head", "knn", "blend"), "knn_k": range(1, 1 << 31)}


def beside(name):
    """A JSON file of the export beside this script, its fields checked; a message, not a traceback, when it is missing
    or damaged. A byte-order mark (an editor's "UTF-8 with BOM") is read past, where json refused the file."""
    try:
        value = json.loads((HERE / name).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:  # predict.py copied out of its folder, or a file left out of the copy
        sys.exit(f"predict.py: {name} is not beside it in {HERE}; {KEEP_TOGETHER}")
    except (OSError, ValueError) as exc:
        sys.exit(f"predict.py: {HERE / name} cannot be read ({exc}); {AGAIN}")
    needs = NEEDS.get(name, {})
    if needs and not isinstance(value, dict):
        sys.exit(f"predict.py: {HERE / name} is damaged: it holds no fields; {AGAIN}")
    for key, kind in needs.items():
        field = value.get(key)
        if isinstance(field, bool) or not isinstance(field, kind) or (key in ALLOWED and field not in ALLOWED[key]):
            said = "is missing" if key not in value else f"is {field!r}, not " + (
                f"one of {', '.join(ALLOWED[key])}" if key == "method" else "a count of 1 or more" if key in ALLOWED
                else "text" if kind is str else "a number")
            sys.exit(f"predict.py: {HERE / name} is damaged: {key} {said}; {AGAIN}")
    return value


def class_list(records):
    """labels.json's classes in class-index order (the model's), each name as glr shows it, as glr reads them
    (glr.training.run.labels_frame); exit naming the file when they are not a list of classes 0, 1, ..., n-1."""
    where = f"predict.py: {HERE / 'labels.json'} is damaged"
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        sys.exit(f"{where}: it is not a list of classes; {AGAIN}")
    for record in records:
        missing = [key for key in ("index", "landmark_id") if key not in record]
        if missing:  # glr needs a name too, but shows "landmark <id>" for a missing one: so does predict.py
            sys.exit(f"{where}: a class without {' and '.join(missing)} ({json.dumps(record, ensure_ascii=False)[:80]}); {AGAIN}")
    try:
        records = sorted(records, key=lambda r: r["index"])  # the model's order, whatever the file's
        order_ok = [r["index"] for r in records] == list(range(len(records)))
        names = class_names({"landmark_id": [int(r["landmark_id"]) for r in records],
                             "name": [r.get("name") for r in records]})
    except (TypeError, ValueError):
        order_ok = False
    if not order_ok:  # glr's words (labels_frame)
        sys.exit(f"{where}: class indices must be 0, 1, ..., n-1 without gaps or repeats; {AGAIN}")
    return [{**record, "name": name} for record, name in zip(records, names)]


def check_classes(probs):
    """Exit, naming the files, when the model scores another number of classes than labels.json lists (a class deleted
    by hand, another run's labels.json copied in), as glr refuses such a run: it was an IndexError traceback, or a
    class never named."""
    if probs.shape[-1] != len(LABELS):
        sys.exit(f"predict.py: the model has {probs.shape[-1]} classes but labels.json lists {len(LABELS)}: the two "
                 f"files come from different runs, or a class was taken out of labels.json by hand; {AGAIN}")
'''
