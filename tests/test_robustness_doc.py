"""docs/robustness.md cannot drift: every test it names exists, every robustness test is named
in it, and its totals match the table and the collected tests."""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "robustness.md"
REF = re.compile(r"`(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)(\[[^\]`]+\])?`")


def doc_text() -> str:
    return DOC.read_text()


@functools.lru_cache(maxsize=None)  # the doc names a file for each of its hundreds of rows
def functions_in(file: Path) -> set[str]:
    tree = ast.parse(file.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@functools.lru_cache(maxsize=1)
def collected_robustness_tests() -> tuple[str, ...]:
    """Node ids of tests/test_robustness_*.py, as pytest collects them (parameters included)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_robustness_*.py"))
    # -n 0: the suite's -n 2 would start two xdist workers to collect, each importing every file (33 s, not 8).
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider",
                          *files], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    return tuple(line.strip() for line in out.splitlines() if "::" in line)


def test_every_test_named_in_the_doc_exists():
    refs = REF.findall(doc_text())
    assert len(refs) > 50
    collected = set(collected_robustness_tests())
    for file, name, param in refs:
        assert name in functions_in(ROOT / "tests" / file), f"{file}::{name} is named in the doc but does not exist"
        if param and file.startswith("test_robustness_"):
            assert f"tests/{file}::{name}{param}" in collected, f"{file}::{name}{param} is not a collected test"


def test_every_robustness_test_is_in_the_doc():
    named = {(file, name) for file, name, _ in REF.findall(doc_text())}
    for path in sorted((ROOT / "tests").glob("test_robustness_*.py")):
        if path.name == Path(__file__).name:
            continue
        for name in functions_in(path):
            assert (path.name, name) in named, f"{path.name}::{name} is not in docs/robustness.md"


def test_totals_match_the_table_and_the_suite():
    text = doc_text()
    rows = re.findall(r"^\| (\d+) \|", text, flags=re.M)
    assert [int(r) for r in rows] == list(range(1, len(rows) + 1)), "cases must be numbered 1..N in order"
    tried, passing = map(int, re.search(r"Cases tried: (\d+)\. Passing: (\d+)\.", text).groups())
    assert tried == passing == len(rows)
    fixed = len(re.findall(r"^\| \d+ \|.*\*\*fixed\*\*", text, flags=re.M))  # table rows marked fixed
    assert int(re.search(r"Problems found and fixed: (\d+)", text).group(1)) == fixed
    collected, passed = map(int, re.search(r"Robustness tests: (\d+) collected, (\d+) passed", text).groups())
    assert collected == passed == len(collected_robustness_tests())
