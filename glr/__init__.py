"""glr: fine-grained landmark recognition on GLDv2, from the terminal or a browser."""

import os

__version__ = "0.1.0"

# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) drowns the CLI's
# own output; errors still surface as Python exceptions. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
