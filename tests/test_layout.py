"""The shape of glr/: subpackages that follow the data flow, small modules, no import cycles, no UI.

These read the source as text (ast), so they import nothing and take milliseconds.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLR = ROOT / "glr"
MAX_LINES = 420  # "no module over about 400 lines"


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of glr."""
    found = {}
    for path in sorted(GLR.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def top_level_imports(path: Path, known: set[str]) -> set[str]:
    """The glr modules `path` imports when it is imported (module level only, not inside functions)."""
    tree = ast.parse(path.read_text())
    targets = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from glr.x import y`: y may be a submodule (glr.x.y) or a name inside glr.x.
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            # Importing glr.a.b also runs glr.a's __init__; the package's own module counts as imported.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of `graph` (a list of nodes that ends where it starts), or None if it is acyclic."""
    state, stack = {}, []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    mods = modules()
    graph = {name: top_level_imports(path, set(mods)) - {name} for name, path in mods.items()}
    assert len(graph) > 30 and any(graph.values())  # the scan found the modules and their imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_glr_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in GLR.rglob("*.py")
                 if re.search(r"^\s*(import|from)\s+streamlit\b", p.read_text(), re.M)]
    assert offenders == []


def test_no_module_is_too_long():
    long = {str(p.relative_to(ROOT)): n for p in GLR.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_subpackage_says_what_it_holds():
    for init in GLR.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 20, f"{init.relative_to(ROOT)} needs a one-paragraph docstring"


def test_the_readme_module_table_matches_the_tree():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| module | job |"):]
    table = table[:table.index("\n\n")]
    listed = set(re.findall(r"`(glr/[\w/]+\.py)`", table))
    on_disk = {str(p.relative_to(ROOT)) for p in GLR.rglob("*.py") if p.name != "__init__.py"}
    assert listed - on_disk == set(), "the README lists modules that do not exist"
    assert on_disk - listed == set(), "modules missing from the README's table"
