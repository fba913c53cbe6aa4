"""glr.cli_types: the values `python -m glr` takes, and its help's layout (every --help fits an 80-column terminal)."""

import pytest

from glr.cli import build_parser


@pytest.fixture(scope="module")
def parser():
    return build_parser()


def _help(parser, monkeypatch, command=None) -> str:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal's width, read from COLUMNS
    return (parser.commands[command] if command else parser).format_help()


def test_every_help_fits_80_columns(parser, monkeypatch):
    # The usage line listed the 14 commands in braces (123 columns), and probe, train and openset their --backbone's
    # 7 names (146-148 columns): a terminal wrapped them mid-word.
    for command in [None, *parser.commands]:
        text = _help(parser, monkeypatch, command)
        wide = [line for line in text.splitlines() if len(line) > 80]
        assert not wide, (command, wide)
    assert "efficientnet_lite0, efficientnet_lite2" in " ".join(_help(parser, monkeypatch, "train").split())


def test_the_commands_are_listed_one_a_line_beside_their_help(parser, monkeypatch):
    # argparse put a line "COMMAND" above them, and "demo-data" and "retrieval" had their help on the next line.
    lines = _help(parser, monkeypatch).splitlines()
    assert lines[0] == "usage: python -m glr [-h] [--version] COMMAND ..."
    listed = lines[lines.index("commands:") + 1:]
    assert listed[0] == "  demo-data   generate the embedded demo dataset"
    assert any(line.startswith("  retrieval   kNN and blend") for line in listed)
    assert "COMMAND" not in listed[0] and len([line for line in listed if line.startswith("  ") and
                                               not line.startswith("   ")]) == len(parser.commands)


def test_an_invalid_backbone_still_names_the_choices(parser, capsys):
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--backbone", "vgg16"])
    # Was argparse's "invalid choice: 'vgg16' (choose from 'efficientnet_lite0', ...)"; no name is close to vgg16.
    assert "argument --backbone: unknown value 'vgg16' (one of efficientnet_lite0, " in capsys.readouterr().err


@pytest.mark.parametrize("args, nearest", [
    (["train", "--backbone", "resnet5"], "argument --backbone: unknown value 'resnet5'; did you mean 'resnet50'?"),
    (["probe", "--backbone", "mobilenetv3small"], "did you mean 'mobilenet_v3_small'?"),
    (["openset", "--backbone", "EfficientNet-Lite2"], "did you mean 'efficientnet_lite2'?"),
    (["export", "r", "--format", "onx"], "argument --format: unknown value 'onx'; did you mean 'onnx'? (one of keras, "),
    (["train", "--augment-space", "image"], "did you mean 'images'?"),
    (["predict", "r", "a.jpg", "--unknown", "lats"], "did you mean 'last'?"),
])
def test_a_mistyped_choice_names_the_nearest_one(parser, capsys, args, nearest):
    # argparse said "invalid choice: 'resnet5' (choose from ...)": the user had to spot resnet50 among seven names.
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(args)
    assert exit_.value.code == 2 and nearest in capsys.readouterr().err
