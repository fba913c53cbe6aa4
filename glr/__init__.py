"""glr: fine-grained landmark recognition on GLDv2, from the terminal or a browser."""

__version__ = "0.1.0"
