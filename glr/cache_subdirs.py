"""The sub-folders of the user cache folder (glr.paths.cache_dir) that glr writes, by name: the one place each is named.

The modules that fill them (which import numpy, PIL or TensorFlow) and glr.cache_folder, which lists them, take the
names from here, so that listing the cache (`python -m glr cache`) needs none of those. This module imports nothing.
"""

EXTRACTORS_SUBDIR = "extractors"  # feature extractors exported to ONNX Runtime (glr.backbones.onnx_features)
FEATURES_SUBDIR = "features"  # photos' features, by backbone (glr.training.settings, glr.backbones.feature_cache)
HASHES_SUBDIR = "photo-hashes"  # photos' perceptual hashes (glr.data.near_copies)
DISTRACTORS_SUBDIR = "distractors"  # photos of no landmark, a set a version (glr.demo.distractors)
# The distractor set of this version is distractors/v<this>; the others are stale. Bump it when
# glr.demo.distractors draws other scenes, so that the older set is made again and pruned.
DISTRACTORS_VERSION = 1
