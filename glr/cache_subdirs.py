"""The sub-folders of the user cache folder (glr.paths.cache_dir) that glr writes, by name.

Apart from the modules that fill them, which import numpy, PIL or TensorFlow, so that listing the cache
(`python -m glr cache`, glr.cache_folder) needs none of those. This module imports nothing.
"""

EXTRACTORS_SUBDIR = "extractors"  # feature extractors exported to ONNX Runtime (glr.backbones.onnx_features)
FEATURES_SUBDIR = "features"  # photos' features, by backbone (glr.training.settings, glr.backbones.feature_cache)
HASHES_SUBDIR = "photo-hashes"  # photos' perceptual hashes (glr.data.near_copies)
DISTRACTORS_SUBDIR = "distractors"  # photos of no landmark, a set a version (glr.demo.distractors)
# The distractor set of this version is distractors/v<this>; the others are stale. glr.demo.distractors'
# GENERATOR_VERSION, which imports numpy and pandas (tests/test_cache_folder.py checks the two agree).
DISTRACTORS_VERSION = 1
