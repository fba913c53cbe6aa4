"""glr.cli_choices: the parser's names and limits, held without their owners' imports, equal their owners' values."""

import ast
import subprocess
import sys


def test_each_choice_equals_its_owners():
    # The parser (and glr.training.config) read these here so that --help imports no numpy; a backbone added to the
    # registry, or a limit changed, must be changed here too, or --help and the checks would name stale values.
    from glr import cli_choices as choices
    from glr.backbones import features, registry
    from glr.demo import dataset as demo
    from glr.training import settings, workers

    assert choices.BACKBONES == tuple(registry.list_backbones()), "glr/cli_choices.py: BACKBONES"
    assert choices.DEFAULT_BACKBONE == registry.DEFAULT_BACKBONE == choices.BACKBONES[0]
    assert choices.ENGINES == features.ENGINES
    assert choices.MAX_LANDMARK_ID == demo.MAX_LANDMARK_ID
    assert choices.MAX_WORKERS == workers.MAX_WORKERS
    assert choices.AUTO_MAX_FINE_TUNE_EPOCHS == settings.AUTO_MAX_FINE_TUNE_EPOCHS


def test_it_imports_nothing_but_itself():
    code = "import sys; before = set(sys.modules); import glr.cli_choices; print(sorted(set(sys.modules) - before))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(ast.literal_eval(out)) <= {"__future__", "glr", "glr.cli_choices"}
