"""The decoding rules that name the feature cache's folders: JPEG's draft slack, the blank range, and their tag.

glr.data.images decodes by the two constants and re-exports them; they live here, apart from its PIL and numpy, so
that listing the cache (`python -m glr cache`, glr.cache_folder) tells stale feature folders apart without importing
either. This module imports nothing.
"""

from __future__ import annotations

# JPEG's reduced-size decoding (1/2, 1/4, 1/8) may stop at a side down to this fraction
# of the target, which is then reached by a slight upscale: a 640x480 photo decodes at
# 320x240 for a 256 px square instead of in full, about 3x faster. Measured on wonders7
# (benchmarks/bench_draft.py), the features barely move and the predictions do not.
DRAFT_SLACK = 0.8

# A photo whose every channel stays within this many grey levels of one value shows nothing to
# recognise: a lens cap, a black frame, a failed download filled with one colour. JPEG's noise
# on a flat colour stays within about 4 levels; a real photo, even at night, spans far more.
BLANK_RANGE = 8


def decode_tag(draft_slack: float | None = None, blank_range: int | None = None) -> str:
    """The end of every feature view folder's name: how photos are decoded and which are refused as blank, by
    `draft_slack` and `blank_range` (this module's by default; glr.backbones.feature_cache gives glr.data.images').

    Other pixels, other features; and a cached vector would let a blank photo that older code
    kept skip the check. Folders that end otherwise were made by older code and are never read
    again (`python -m glr cache --prune` removes them).
    """
    draft_slack = DRAFT_SLACK if draft_slack is None else draft_slack
    blank_range = BLANK_RANGE if blank_range is None else blank_range
    # "-srgb": embedded colour profiles are applied (glr.data.images), which changes those photos' pixels.
    # "-cicp": PNG gAMA+cHRM, cICP and AVIF nclx colours, orientation only where Chromium turns a photo (not a WebP's
    # EXIF, nor a PNG's eXIf after its pixels). "-heic": HEIC nclx, PNG cICP BT.709, profiles named sRGB that are not.
    # "-grey": a grey profile applied to 16-bit, keyed and see-through greys too (an RGB profile on them ignored).
    return (f"-draft{draft_slack:g}" if draft_slack != 1 else "") + f"-blank{blank_range}-srgb-cicp-heic-grey"
