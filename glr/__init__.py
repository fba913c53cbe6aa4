"""glr: fine-grained landmark recognition on GLDv2, from the terminal or a browser.

The subpackages follow the data flow. `data` reads a dataset into a catalog, curates and
splits it and feeds photos to a backbone; `demo` draws the embedded demo dataset;
`backbones` builds ImageNet networks and computes their features; `training` turns a
configuration into a run folder, which `training.runs` owns; `evaluation` measures and
reports a run; `retrieval` recognises by similar photos and says "not a known landmark".
`predict` serves a finished run, `explain` shows where it looked (Grad-CAM), `export`
hands it over in other runtimes' formats, and `cli` is `python -m glr`. See README.md.
"""

import os

__version__ = "0.1.0"

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) drowns the CLI's
# own output; errors still surface as Python exceptions. A user's own setting wins.
USER_TF_LOG_LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")  # glr.tf_quiet heeds the user's own
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
