"""Scale: name GLDv2's 200k landmarks from train_label_to_category.csv (`glr.data.layouts.read_names`).

The file is synthetic: GLDv2's form of category URL, one in five with percent-escapes (non-ASCII names, as
GLDv2's are) and a few of other forms. Before (category_to_name once a row, as read_names did) and after
(`category_names` over the column) run back to back in this process; both must give the same names.

    .venv/bin/python benchmarks/bench_read_names.py [--tiny]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from glr.data.category_names import category_names, category_to_name  # noqa: E402
from glr.data.layouts import read_names  # noqa: E402

W = "http://commons.wikimedia.org/wiki/Category:"


def write(path: Path, n: int) -> None:
    """`n` categories, most in GLDv2's plain form."""
    forms = [W + "Place_{}_Old_Bridge", W + "Haleakal%C4%81_Place_{}", W + "Place_{}_(Tokyo)", W + "Place_{}",
             W + "Caf%C3%A9_{}", W + "Place_{}", W + "Place_{}", W + "Place_{}", "https://de.wikipedia.org/wiki/Kategorie:K{}",
             W + "Place_{}"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("landmark_id,category\n")
        f.writelines(f"{i},{forms[i % len(forms)].format(i)}\n" for i in range(n))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true")
    n = 2_000 if parser.parse_args(argv).tiny else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root / "train_label_to_category.csv", n)
        import pandas as pd

        cats = pd.read_csv(root / "train_label_to_category.csv", dtype=str)["category"]
        t0 = time.perf_counter()
        before = [category_to_name(c) for c in cats]
        t1 = time.perf_counter()
        column = category_names(cats)
        t2 = time.perf_counter()
        names, _ = read_names(root)
        t3 = time.perf_counter()
    assert column.tolist() == before and list(names.values()) == before, "names differ"
    print(f"SUMMARY load {os.getloadavg()[0]:.2f}; {n:,} categories: category_to_name once a row (before) {t1 - t0:.2f} s; "
          f"category_names (after) {t2 - t1:.2f} s; read_names, reading the file too, {t3 - t2:.2f} s; same names")


if __name__ == "__main__":
    main()
