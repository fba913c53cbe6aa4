"""The curation settings' defaults and limits, in a module of their own that imports nothing.

`glr.data.datasets` (which imports pandas and sklearn) reads them from here and hands them on; the command line
reads them here, so `python -m glr --help` and a mistyped option do not wait a second or two for sklearn.
"""

DEFAULT_TOP_N = 100
DEFAULT_MIN_IMAGES = 2
TRAIN_MIN_CLASSES = 2  # what training curates for: one class is nothing for a classifier to tell apart
DEFAULT_VAL_FRACTION = 0.2
DEFAULT_SEED = 42
# Seeds go to sklearn's and numpy's generators, which take 0 .. 2**32 - 1 only.
MAX_SEED = 2**32 - 1
