"""glr.data.decode_rules: the decoding rules that name the feature cache's folders, without PIL or numpy."""

import subprocess
import sys

from glr.data import decode_rules


def test_the_tag_names_the_rules_and_is_the_feature_caches():
    # Another tag makes every cached feature stale (minutes to compute again): pinned, so a change is deliberate.
    assert decode_rules.decode_tag() == "-draft0.8-blank8-srgb-cicp-heic-grey"
    assert decode_rules.decode_tag(1, 8) == "-blank8-srgb-cicp-heic-grey"  # exact decoding: no draft part
    assert decode_rules.decode_tag(0.5, 9) == "-draft0.5-blank9-srgb-cicp-heic-grey"
    from glr.backbones.feature_cache import decode_tag
    from glr.data import images

    # glr.data.images decodes by the same values (re-exported), so the cache's key and `glr cache`'s listing agree.
    assert (images.DRAFT_SLACK, images.BLANK_RANGE) == (decode_rules.DRAFT_SLACK, decode_rules.BLANK_RANGE)
    assert decode_tag() == decode_rules.decode_tag()


def test_the_rules_import_neither_pil_nor_numpy():
    code = ("import sys; from glr.data.decode_rules import decode_tag; decode_tag()\n"
            "print([m for m in ('numpy', 'PIL', 'pandas') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
