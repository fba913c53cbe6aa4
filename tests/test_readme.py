"""The README against the project: CI runs its test command exactly, both set-up commands do what they say, and
every `glr` command and option it shows exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The first two fenced shell commands in the README."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", text, flags=re.S)[:2]


def test_two_commands_open_the_readme():
    app, tests = readme_commands()
    assert app.strip().endswith("streamlit run app.py")
    assert tests.strip().endswith("pytest")
    assert "requirements.txt" in app
    setup = (ROOT / "scripts" / "setup-tests.sh").read_text()
    assert tests.startswith("bash scripts/setup-tests.sh") and "requirements-dev.txt" in setup


def test_ci_runs_the_readme_test_command_exactly():
    _, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests.strip() in ci_lines


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{name}: {line} is not pinned"


def readme_glr_commands() -> list[tuple[str, str]]:
    """(subcommand, what follows it) for every `python -m glr SUB ...` or `glr SUB ...` the README shows:
    its inline code spans and its fenced command lines (a line's `# comment` left out)."""
    text = (ROOT / "README.md").read_text()
    fenced = re.findall(r"```(?:bash|sh)\n(.+?)\n```", text, flags=re.S)
    snippets = re.findall(r"`([^`\n]+)`", re.sub(r"```.+?```", "", text, flags=re.S))
    snippets += [line.split("#")[0] for block in fenced for line in block.splitlines()]
    return [(m.group(1), m.group(2)) for snippet in snippets
            for m in re.finditer(r"(?:python -m |^)glr ([a-z][a-z-]*)((?:(?! python -m glr ).)*)", snippet)]


def test_every_glr_command_and_option_the_readme_shows_exists():
    # A reader copies these; a subcommand or flag renamed in the parser must not leave the README behind.
    from glr.cli import build_parser

    commands = build_parser().commands
    shown = readme_glr_commands()
    assert {"demo-data", "train", "predict", "export", "fetch", "openset"} <= {sub for sub, _ in shown}
    for sub, rest in shown:
        assert sub in commands, f"README shows `glr {sub}`, which the parser does not have"
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
            assert flag in commands[sub]._option_string_actions, f"README shows `glr {sub} ... {flag}`, not an option of it"
