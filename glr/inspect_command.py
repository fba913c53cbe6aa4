"""`python -m glr inspect`: a dataset's counts, its curated classes as a table, and the problems found."""

from __future__ import annotations

from glr import paths
from glr.words import plural

NAME_COLUMNS = 40  # a class name wider than this is cut short, with "…", in the CLI's tables


def class_table(labels) -> list[str]:
    """The lines of a table of classes (`labels`: landmark_id, name, images), its columns as wide as their values.

    Each column widens to its widest value (`glr.paths.id_column`).
    """
    names = [paths.one_line(n) for n in labels["name"]]
    ids, counts = paths.id_column(labels["landmark_id"]), paths.id_column((f"{n:,}" for n in labels["images"]), least=5)
    width = min(NAME_COLUMNS, max((paths.text_columns(n) for n in names), default=0))
    return [f"  {i}  {paths.fit_columns(n, width)}  {c}" for i, n, c in zip(ids, names, counts)]


def split_sizes(data, val_fraction: float, seed: int) -> tuple[int, int]:
    """(train, validation) image counts of `glr.data.stratified_split.stratified_split(data, val_fraction, seed)`.

    Made without the split when its sizes are certain: its sklearn costs 1-2 s to import, and `inspect` prints
    only the two counts. sklearn's stratified split gives class i floor or ceil of c_i * n_train / n photos for
    training, so when c_i * n_train and c_i * n_val both exceed n for every class, each class has a photo on both
    sides, none is moved across, and the sizes are n - n_val and n_val. Otherwise the split is made.
    """
    from glr.data.stratified_split import stratified_split, validation_size

    counts = data["landmark_id"].value_counts()
    n, n_classes = len(data), len(counts)
    n_val = validation_size(n, n_classes, val_fraction)
    if n_classes and int(counts.min()) * min(n_val, n - n_val) > n:
        return n - n_val, n_val
    train, val = stratified_split(data, val_fraction, seed)
    return len(train), len(val)


def cmd_inspect(args) -> int:
    """Describe a dataset: counts, the curated subset, problems."""
    from glr.commands import _open_catalog
    from glr.data import datasets  # pandas: not for `python -m glr --help`
    from glr.data.stratified_split import check_split_settings
    from glr.data.usable import undecodable_sample  # inspect lists files; a few decoded catch a folder of broken ones

    catalog = _open_catalog(args.data)
    check_split_settings(args.val_fraction, args.seed)  # first, as datasets.curate does
    # The curated rows and their split's sizes, not the split (datasets.curate): sklearn's import, 1-2 s.
    data, labels, messages = datasets.curated_rows(catalog, args.top_n, args.min_images)
    n_train, n_val = split_sizes(data, args.val_fraction, args.seed)
    info = datasets.summarize(catalog)
    print(f"dataset    {info['root']} ({info['layout']} layout)")
    print(f"classes    {info['classes']:,}")
    print(f"images     {info['images']:,}")
    print(f"per class  min {info['per_class_min']}, median {info['per_class_median']:g}, max {info['per_class_max']}")
    print(f"curated    top {plural(len(labels), 'class')}: {n_train:,} train, {n_val:,} validation images")
    for line in class_table(labels.head(args.show)):
        print(line)
    if len(labels) > args.show:
        print(f"  ... and {len(labels) - args.show} more (--show N lists more)")
    # Drawn from the curated photos in id order (the split's order was train then validation): the same photos
    # whatever the split's seed or fraction.
    sampled = undecodable_sample(data["path"].tolist(), catalog.root)
    problems = catalog.problems + messages + ([sampled] if sampled else [])
    if len(labels) < datasets.TRAIN_MIN_CLASSES:  # inspect shows it; train, probe and the app refuse it
        problems.append(f"only {plural(len(labels), 'class')} kept, and a classifier needs at least "
                        f"{datasets.TRAIN_MIN_CLASSES} landmarks to tell apart: train and probe refuse this"
                        + (" (a larger --top-n keeps more)" if 0 < args.top_n < datasets.TRAIN_MIN_CLASSES else ""))
    print(f"problems   {len(problems) or 'none'}")
    for problem in problems:
        print(f"  - {problem}")
    return 0
