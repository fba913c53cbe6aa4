"""The photos and classes a run trains on: curated when it starts, its own recorded split when it resumes.

A run records its classes (`labels.json`: class index -> landmark_id, name) and its split
(`split.csv`: id, landmark_id, side) before its first epoch. Its checkpoints' outputs follow
that class order, so a resume must train on the same classes in the same order, whatever
the dataset on disk has become since: photos added, deleted, moved, a class folder renamed.
Curating again would give another split (and, for class folders, whose numbers follow their
names' order, other class numbers) as soon as one photo changed. So a resume takes the
recorded split and looks each photo up by its id in the dataset as it is now:

- nothing changed (the curation gives the recorded fingerprint): as at the start;
- photos added, or new classes: not used, and said (the run keeps its split; a new run uses them);
- photos of the split deleted: trained on without them, and said;
- a class with none of its photos left (deleted, or its folder renamed), or a photo that now
  belongs to another landmark in train.csv: refused, naming it, since training on would
  teach the model another mapping than the one it has.

A photo replaced by a file that does not decode is left out later, when the features are
made (glr.data.usable), as on any start. Without a readable record (labels.json or
split.csv lost or damaged), a resume goes on only if the curation still gives the recorded
fingerprint: then it gives the same classes in the same order, and the record is made again.
"""

from __future__ import annotations

import pandas as pd

from glr.data import class_names, datasets
from glr.data.layouts import examples, plural
from glr.errors import DatasetError, GlrError
from glr.training.config import TrainConfig
from glr.training.run import Run, RunError

RECORD = "the run's own split"


def prepare(run: Run, cfg: TrainConfig, resume: bool) -> tuple[datasets.Split, datasets.Catalog, list[str]]:
    """(the split to train on, the catalog, the problems to report) for `run`; GlrError when a resume cannot go on.

    On a resume the split is the run's recorded one whenever it can be read (see the module's notes), and the
    problems are the new ones only: those its earlier starts met are in its record, said then.
    """
    split, catalog, problems = _prepare(run, cfg, resume)
    if resume:
        earlier = (run.config().get("dataset") or {}).get("problems")
        problems = [p for p in problems if not isinstance(earlier, list) or p not in earlier]
    return split, catalog, problems


def _prepare(run: Run, cfg: TrainConfig, resume: bool) -> tuple[datasets.Split, datasets.Catalog, list[str]]:
    """`prepare`, with every problem met."""
    root = cfg.data
    if not root:
        raise GlrError(f"run {run.id} names no dataset; start it with `python -m glr train` or from the app")
    try:
        catalog = datasets.load_catalog(root)
    except DatasetError as exc:
        if not resume:
            raise
        raise DatasetError(f"run {run.id} cannot be resumed: the dataset it trains on cannot be read now ({exc}); "
                           "put it back where the run found it") from None
    recorded_print = (run.config().get("dataset") or {}).get("fingerprint") if resume else None
    record, unreadable = _record(run) if resume else (None, None)
    try:
        fresh = datasets.curate(catalog, top_n=cfg.top_n, min_images=cfg.min_images, val_fraction=cfg.val_fraction,
                                seed=cfg.seed, min_classes=datasets.TRAIN_MIN_CLASSES)
    except DatasetError:
        if record is None:
            raise
        fresh = None  # e.g. too few classes left to curate: the record says what the run needs
    same = fresh is not None and recorded_print in (None, fresh.fingerprint())
    if record is None:
        if not same:
            lost = f"{unreadable}, so the run's classes cannot be read back, and " if unreadable else ""
            raise GlrError(f"run {run.id} cannot be resumed: {lost}the dataset at {root} changed since this run "
                           "started (different images or classes); start a new run instead of resuming")
        if unreadable and recorded_print is not None:  # without a fingerprint the run never got to write them
            fresh.messages.append(f"{unreadable}: made again from the dataset, unchanged since the run started")
        return fresh, catalog, catalog.problems + fresh.messages
    split, changes = from_record(catalog, *record, fresh=fresh)
    return split, catalog, catalog.problems + (fresh.messages if same else []) + changes


def _record(run: Run) -> tuple[tuple[pd.DataFrame, pd.DataFrame] | None, str | None]:
    """((recorded split table, recorded labels), None), or (None, why not: a file missing or damaged)."""
    try:
        table, labels = run.split(), run.labels()
    except RunError as exc:
        return None, str(exc)
    if labels is None or table is None:
        return None, " and ".join(f"{p.name} is missing" for p in (run.labels_path, run.split_path) if not p.is_file())
    if not {"id", "landmark_id", "split"} <= set(table.columns) or not table["split"].isin(["train", "val"]).all():
        return None, f"{run.split_path} is damaged: it needs columns id, landmark_id and split (train or val)"
    if set(table["landmark_id"]) != set(labels["landmark_id"]):
        return None, f"{run.split_path.name} and {run.labels_path.name} do not name the same classes (one replaced?)"
    return (table, labels), None


def _class_key(catalog: datasets.Catalog) -> str:
    """What names a class across versions of the dataset: a class folder's name (its number follows the
    folders' order, so it shifts when a folder is added), else GLDv2's landmark_id."""
    return "name" if catalog.layout == "folders" else "landmark_id"


def from_record(catalog: datasets.Catalog, table: pd.DataFrame, labels: pd.DataFrame,
                fresh: datasets.Split | None = None) -> tuple[datasets.Split, list[str]]:
    """(the recorded split, its photos looked up by id in `catalog`; what changed, said in sentences).

    `labels` and `table` are the run's labels.json and split.csv; `fresh` the dataset curated
    now (None if it cannot be), to name classes the run does not know. GlrError when a class
    has no photo left or a photo now belongs to another landmark.
    """
    now = catalog.df.drop_duplicates("id")
    row_of = pd.Series(now.index, index=now["id"].to_numpy())  # id -> its catalog row, whose path the catalog makes
    now = now.set_index("id")
    table = table.assign(id=table["id"].astype(str))
    there = table["id"].isin(now.index)
    told_apart = []
    if catalog.layout == "folders":  # a run made before look-alike folders were told apart: "Big Ben" twice
        labels, told_apart = class_names.recorded_names_now(catalog.df, table, labels)
    known = labels.set_index("landmark_id")
    root = catalog.root
    gone_classes = known.index.difference(table.loc[there, "landmark_id"].unique())
    if len(gone_classes):
        names = known.loc[gone_classes, "name"].tolist()
        raise GlrError(f"{plural(len(names), 'class')} of the run ({examples(names)}) {_are(len(names))} "
                       f"gone from the dataset at {root}: none of {'its' if len(names) == 1 else 'their'} photos in "
                       f"{RECORD} is there (deleted, or the class folder renamed?); put them back, or start a new run")
    kept = table[there].reset_index(drop=True)
    kept = kept.assign(path=catalog.paths(pd.Index(row_of.loc[kept["id"]].to_numpy())).to_numpy())
    if _class_key(catalog) == "landmark_id":
        moved = kept["id"].map(now["landmark_id"]).astype("int64") != kept["landmark_id"].astype("int64")
        if moved.any():
            first = kept[moved].iloc[0]
            verb = "belongs" if moved.sum() == 1 else "belong"
            raise GlrError(f"{plural(int(moved.sum()), 'photo')} of {RECORD} now {verb} to another landmark in "
                           f"{root} (e.g. {first['id']}: landmark {first['landmark_id']} when the run started, "
                           f"{int(now.loc[first['id'], 'landmark_id'])} now); the run learned them as they were: "
                           "put train.csv back, or start a new run")
    changes = []
    if told_apart:
        how = "is told apart by its" if len(told_apart) == 1 else "are told apart by their"
        changes.append(f"{plural(len(told_apart), 'class')} of the run {how} folder now (e.g. {told_apart[0][0]!r} is now {told_apart[0][1]!r})")
    if (~there).any():
        gone = int((~there).sum())
        changes.append(f"{plural(gone, 'photo')} of {RECORD} {_are(gone)} no longer in the dataset (deleted or "
                       f"moved, e.g. {examples(table.loc[~there, 'id'])}): the run goes on without them")
    key = _class_key(catalog)
    ours = set(known["name"] if key == "name" else known.index)
    added = catalog.df[catalog.df[key].isin(ours) & ~catalog.df["id"].isin(table["id"])]
    if len(added):
        changes.append(f"{plural(len(added), 'photo')} added to the run's classes since it started "
                       f"(e.g. {examples(added['id'])}) {_are(len(added))} not used: a resumed run keeps its own split; "
                       "start a new run to train on them")
    if fresh is not None:
        new = fresh.labels.loc[~fresh.labels[key].isin(ours), "name"].tolist()
        if new:
            changes.append(f"{plural(len(new), 'class')} the run does not know ({examples(new)}) "
                           f"{_are(len(new))} left out: a resumed run keeps its own classes; "
                           "start a new run to train on them")
    if key == "landmark_id":  # GLDv2 names its classes in train_label_to_category.csv: a new name is only a name
        current = catalog.names()
        renamed = [(name, current[i]) for i, name in known["name"].items() if current.get(i, name) != name]
        if renamed:
            changes.append(f"{plural(len(renamed), 'class')} of the run {'has' if len(renamed) == 1 else 'have'} another "
                           f"name now (e.g. {renamed[0][0]!r} is now {renamed[0][1]!r}): the run uses the new names")
            labels = labels.assign(name=[current.get(i, name) for i, name in zip(labels["landmark_id"], labels["name"])])
            known = labels.set_index("landmark_id")
    index = dict(zip(known.index, known["index"]))
    kept = kept.assign(name=kept["landmark_id"].map(known["name"]), label=kept["landmark_id"].map(index).astype(int))
    columns = ["id", "path", "landmark_id", "name", "label"]
    train, val = (kept.loc[kept["split"] == side, columns].reset_index(drop=True) for side in ("train", "val"))
    return datasets.Split(train=train, val=val, labels=labels.reset_index(drop=True)), changes


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def dataset_record(catalog: datasets.Catalog, split: datasets.Split, problems: list[str], kept: dict | None = None) -> dict:
    """The `dataset` section of a run's config: where, what layout, how many, the split's fingerprint, the problems.

    On a resume, `kept` is the section as the run's earlier starts left it: their problems stay
    (what the first curation dropped, photos that did not decode), and this start's new ones follow.
    """
    earlier = kept.get("problems") if isinstance(kept, dict) else None
    earlier = [str(p) for p in earlier] if isinstance(earlier, list) else []
    return {"root": str(catalog.root), "layout": catalog.layout, "images": len(split.train) + len(split.val),
            "classes": split.num_classes, "train": len(split.train), "val": len(split.val),
            "fingerprint": split.fingerprint(), "problems": [*earlier, *(p for p in problems if p not in earlier)]}
