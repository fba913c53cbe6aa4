"""`python -m glr inspect`: a dataset's counts, its curated classes as a table, and the problems found."""

from __future__ import annotations

from glr import paths

NAME_COLUMNS = 40  # a class name wider than this is cut short, with "…", in the CLI's tables


def class_table(labels) -> list[str]:
    """The lines of a table of classes (`labels`: landmark_id, name, images), its columns as wide as their values.

    Each column widens to its widest value (`glr.paths.id_column`).
    """
    names = [paths.one_line(n) for n in labels["name"]]
    ids, counts = paths.id_column(labels["landmark_id"]), paths.id_column((f"{n:,}" for n in labels["images"]), least=5)
    width = min(NAME_COLUMNS, max((paths.text_columns(n) for n in names), default=0))
    return [f"  {i}  {paths.fit_columns(n, width)}  {c}" for i, n, c in zip(ids, names, counts)]


def cmd_inspect(args) -> int:
    """Describe a dataset: counts, the curated subset, problems."""
    from glr.commands import _curate, _open_catalog
    from glr.data import datasets  # pandas and sklearn: not for `python -m glr --help`
    from glr.data.usable import undecodable_sample  # inspect lists files; a few decoded catch a folder of broken ones

    catalog = _open_catalog(args.data)
    split = _curate(catalog, args)
    info = datasets.summarize(catalog)
    print(f"dataset    {info['root']} ({info['layout']} layout)")
    print(f"classes    {info['classes']:,}")
    print(f"images     {info['images']:,}")
    print(f"per class  min {info['per_class_min']}, median {info['per_class_median']:g}, max {info['per_class_max']}")
    print(f"curated    top {datasets.plural(split.num_classes, 'class')}: {len(split.train):,} train, {len(split.val):,} validation images")
    for line in class_table(split.labels.head(args.show)):
        print(line)
    if len(split.labels) > args.show:
        print(f"  ... and {len(split.labels) - args.show} more (--show N lists more)")
    sampled = undecodable_sample(split.table(paths=True)["path"].tolist(), catalog.root)
    problems = catalog.problems + split.messages + ([sampled] if sampled else [])
    print(f"problems   {len(problems) or 'none'}")
    for problem in problems:
        print(f"  - {problem}")
    return 0
