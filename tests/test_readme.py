"""The README's two set-up commands: CI runs the test command exactly, and both do what they say."""

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
