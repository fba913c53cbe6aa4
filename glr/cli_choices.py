"""The names and limits that `python -m glr`'s parser shows (choices, defaults, ranges), in a module that imports nothing.

Their owners import numpy, Pillow or the training stack: the backbone registry (`glr.backbones.registry`), the feature
extractor (`glr.backbones.features`), the demo generator (`glr.demo.dataset`), the local workers
(`glr.training.workers`), the auto fine-tuning rule (`glr.training.settings`). Building the parser from them cost
`--help`, every argument error and every command their imports before the first line: `--help` took 0.54 s, now
0.10 s (medians of 7 interleaved runs, load 2.5-3). glr.training.config reads the backbone names and the engines here
too, so the parser's training defaults (a TrainConfig) are as light.
tests/test_cli_choices.py checks that each value equals its owner's, so the two cannot drift apart.
"""

from __future__ import annotations

# glr.backbones.registry.list_backbones(), in its order: the default first.
BACKBONES = ("efficientnet_lite0", "efficientnet_lite2", "resnet50", "resnet101", "resnet152",
             "mobilenet_v3_large", "mobilenet_v3_small")
DEFAULT_BACKBONE = "efficientnet_lite0"  # glr.backbones.registry.DEFAULT_BACKBONE
ENGINES = ("auto", "int8", "onnx", "fp32", "tf")  # glr.backbones.features.ENGINES
MAX_LANDMARK_ID = 200_000  # glr.demo.dataset.MAX_LANDMARK_ID: the most classes a demo can have
MAX_WORKERS = 16  # glr.training.workers.MAX_WORKERS: beyond it train_local refuses
AUTO_MAX_FINE_TUNE_EPOCHS = 16  # glr.training.settings.AUTO_MAX_FINE_TUNE_EPOCHS
