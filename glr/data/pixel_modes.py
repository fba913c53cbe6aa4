"""Any Pillow mode to 8-bit sRGB: an embedded colour profile applied, wide greys scaled, transparency onto white.

`glr.data.images` decodes a file; this says what its pixels become: palette, grey, CMYK, 16-bit,
32-bit and float greys, and images with alpha all come out as the 8-bit sRGB RGB the backbones
were trained on.
"""

from __future__ import annotations

import functools
import io
from typing import Callable

import numpy as np
from PIL import Image, ImageCms

# An embedded ICC profile says what the pixel values mean: iPhones save Display P3, cameras and
# editors Adobe RGB, print files CMYK. Taken as sRGB, as decoders that ignore profiles take them, those
# photos look washed out or shifted; converted, they look as a browser shows them, and as the sRGB
# photos the backbones were trained on do. Profiles that name themselves sRGB are left alone.
_SRGB = ImageCms.createProfile("sRGB")
# The modes whose pixels a profile describes directly; alpha and palette images are converted after
# compositing, as RGB.
_PROFILE_MODES = ("RGB", "CMYK", "L")


@functools.lru_cache(maxsize=32)
def srgb_transform(icc: bytes, mode: str):
    """LittleCMS's transform from the embedded profile `icc` to sRGB for `mode` pixels, None to keep them, False when
    `icc` is no profile at all.

    None for an sRGB profile (one that leaves every level of red, green, blue and grey within 1 of itself, whatever
    its name: GIMP's "Linear sRGB", which its high-bit-depth exports embed, is no sRGB, and Chromium applies it), and
    for one that does not fit the mode; False for one that cannot be read: the pixels are then taken as sRGB, which is
    what every profile-blind decoder does (and a PNG's gAMA and cHRM chunks count, as Chromium reads them when its
    iCCP chunk holds no profile).
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception:  # noqa: BLE001 - a broken profile in an untrusted file must not refuse the photo
        return False
    try:
        # NOCACHE: the pipeline's threads share one transform, and LittleCMS's one-pixel cache is not thread-safe.
        transform = ImageCms.buildTransform(profile, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE)
    except Exception:  # noqa: BLE001 - a profile that does not fit: the pixels as they are
        return None
    if mode != "RGB":
        return transform
    probe = np.zeros((4, 256, 3), dtype=np.uint8)  # every level of red, green and blue alone, then of grey
    for row in range(3):
        probe[row, :, row] = np.arange(256)
    probe[3] = np.arange(256)[:, None]
    shown = np.asarray(ImageCms.applyTransform(Image.fromarray(probe, "RGB"), transform))
    return None if np.abs(shown.astype(int) - probe).max() <= 1 else transform


def to_rgb(img: Image.Image, shrink: Callable[[Image.Image], Image.Image] | None = None,
           before_white: bool = False) -> Image.Image:
    """Convert any Pillow mode to 8-bit sRGB: an embedded colour profile is applied; transparency goes onto white.

    `shrink` (an RGB image to a smaller one: the caller's resize) runs before an RGB profile's
    conversion, so only the pixels kept are converted: 12 megapixels cost about 150 ms, 256 px 1 ms. A grey, 1-bit or
    palette photo (16-bit, 32-bit and float greys as 8-bit; with alpha or a tRNS too, once on white) is given to it as
    grey (L), a colour palette's or coloured grey profile's once per band, before it becomes RGB (`plain_rgb`): the same
    pixels, a quarter of the memory. A grey profile applies to a grey of any depth, with alpha or a tRNS too.
    `before_white`: an image with transparency is shrunk before it goes onto white too (`plain_rgb`; `shrink` is then
    given RGBa), which pictures only shown may do.
    """
    shrink = shrink or (lambda rgb: rgb)
    # The colour primaries and transfer (ITU-T H.273 codes) of a PNG's cICP chunk or an AVIF's or HEIC's nclx box,
    # which glr.data.images reads (Pillow does not): those Chromium 156 shows by (measured), a PNG's cICP before its
    # iCCP. It takes an AVIF's BT.709 transfers (1, 6, 14, 15) and an unspecified one (2) as sRGB's curve (a PNG's
    # BT.709 ones as a 2.4 power), unspecified primaries as sRGB's. PQ and HLG (HDR) Chromium tone-maps to the
    # screen (its own curve: 20, 128 show as 1, 132 in PQ, 5, 99 in HLG); glr takes them as sRGB. SMPTE 240M (7),
    # which no camera writes, too.
    srgb_primaries = (0.3127, 0.329, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)
    primaries = {1: srgb_primaries, 2: srgb_primaries, 9: (0.3127, 0.329, 0.708, 0.292, 0.17, 0.797, 0.131, 0.046),
                 11: (0.314, 0.351, 0.68, 0.32, 0.265, 0.69, 0.15, 0.06), 12: (0.3127, 0.329, 0.68, 0.32, 0.265, 0.69,
                                                                              0.15, 0.06)}
    powers = {1: 0.0, 2: 0.0, 4: 1 / 2.2, 5: 1 / 2.8, 6: 0.0, 8: 1.0, 13: 0.0, 14: 0.0, 15: 0.0}  # 0: sRGB's curve
    cicp = img.info.get("cicp", (0, 0))
    if cicp[2:] == ("PNG",):  # a PNG's BT.709 transfers (ffmpeg's still of a video) Chromium decodes as a 2.4 power
        powers.update(dict.fromkeys((1, 6, 14, 15), 1 / 2.4))
    coded = cicp[0] in primaries and cicp[1] in powers
    icc = None if coded else img.info.get("icc_profile")
    # Alpha, palettes and a colour key (tRNS): composited, then converted as RGB. A grey of any depth, with alpha or a
    # key too, is a grey to its profile (was: a 16-bit, keyed or see-through grey's grey profile was passed over as a
    # misfit for RGB, and an RGB one applied, which a grey without them keeps as it is).
    grey = img.mode in ("1", "L", "LA", "I;16", "I;16B", "I;16L", "I", "F")
    mode = "L" if grey else img.mode if img.mode in _PROFILE_MODES and "transparency" not in img.info else "RGB"
    transform = srgb_transform(bytes(icc), mode) if icc else False
    if transform and mode == "L":
        # A grey's profile gives each of its 256 levels one colour, whatever its neighbours: looked up (a 16-bit grey by
        # its high byte, as Chromium shows it), shrunk as grey, then made RGB: the transform's RGB shrunk, a quarter of
        # the memory. A profile whose greys are not grey (a sepia's lookup table) gives three bands, each shrunk alone.
        # Any transparency (a key's from the stored values) goes onto white after, as the colours it covers are shown.
        colours = ImageCms.applyTransform(Image.frombytes("L", (256, 1), bytes(range(256))), transform)
        tables = [list(band.tobytes()) for band in colours.split()]
        alpha = img.getchannel("A") if img.mode == "LA" else colour_key_alpha(img)
        levels = img.getchannel("L") if img.mode == "LA" else img if img.mode == "L" else \
            img.convert("L") if img.mode == "1" else grey_levels(img)
        bands = [levels.point(table) for table in (tables[:1] if tables[0] == tables[1] == tables[2] else tables)]
        if alpha is not None:
            return plain_rgb(Image.merge("LA" if len(bands) == 1 else "RGBA", [*bands, alpha]), shrink, before_white)
        return shrink(bands[0]).convert("RGB") if len(bands) == 1 else Image.merge("RGB", [shrink(b) for b in bands])
    if transform and mode != "RGB":
        return shrink(ImageCms.applyTransform(img, transform))  # CMYK converts from its own values
    rgb = plain_rgb(img, shrink, before_white)
    if transform:
        return ImageCms.applyTransform(rgb, transform)
    if coded and cicp[0] in (1, 2) and powers[cicp[1]] == 0:  # sRGB itself, as most AVIFs say: nothing to convert
        return rgb
    if coded:
        gamma, chromaticity = powers[cicp[1]], primaries[cicp[0]]
    else:  # A PNG's gAMA chunk, when it has no profile (none, or one that cannot be read) and no sRGB chunk.
        gamma = img.info.get("gamma") if transform is False and "srgb" not in img.info else None
        chromaticity = img.info.get("chromaticity", ())  # a cHRM chunk of any other length than 8 numbers is damaged
        if not isinstance(gamma, (int, float)) or gamma <= 0:
            return rgb
    white_and_primaries = np.reshape(chromaticity, (4, 2)) if len(chromaticity) == 8 else ()
    xyz = np.array([(x / y, 1.0, (1 - x - y) / y) for x, y in white_and_primaries if 0 < y <= 1 and 0 <= x <= 1])
    if len(xyz) == 4 and abs(np.linalg.det(xyz[1:])) > 1e-6:
        # gAMA with cHRM (both, no sRGB or iCCP chunk) is a colour space of its own, which Chromium 156 shows in sRGB
        # (measured; cHRM alone changes nothing): the values decoded with the gamma as given, 1/2.2 included (a pure
        # power, not sRGB's curve), from its primaries to sRGB's, its white point onto D65 (Bradford), then clipped.
        def to_xyz(points):  # the matrix from linear RGB to XYZ of a white point and three primaries (as xyz above)
            return points[1:].T * np.linalg.solve(points[1:].T, points[0])

        srgb = np.array([(0.3127 / 0.329, 1.0, 0.3583 / 0.329), (0.64 / 0.33, 1.0, 0.03 / 0.33),
                         (0.5, 1.0, 0.1 / 0.6), (2.5, 1.0, 0.79 / 0.06)])
        bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
        adapt = np.linalg.inv(bradford) @ np.diag((bradford @ srgb[0]) / (bradford @ xyz[0])) @ bradford
        matrix = np.linalg.inv(to_xyz(srgb)) @ adapt @ to_xyz(xyz)
        matrix = matrix if np.isfinite(matrix).all() else np.eye(3)  # a white point no light has: primaries alone
        # Tables both ways (a 12 MP photo in 0.6 s, where the powers per pixel took 18 s): the 256 values decoded, and
        # sRGB's encoding at 65,536 steps of light, fine enough to round as the exact powers do.
        values = np.arange(256) / 255.0
        decode = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4) if gamma == 0 \
            else values ** (1.0 / gamma)  # gamma 0: sRGB's own curve (a cICP's code 13)
        light = np.linspace(0.0, 1.0, 65536)
        encode = np.rint(np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055) * 255)
        pixels, table, encode = np.asarray(rgb), decode.astype(np.float32), encode.astype(np.uint8)
        shown, matrix = np.empty_like(pixels), matrix.T.astype(np.float32)
        # By bands of about 64k pixels, each band's floats staying in the CPU's cache: a 12 MP photo at once took
        # 0.5 s and 600 MB of floats (4.8 s on a busy machine), by bands 0.2 s (benchmarks/bench_colour.py).
        rows = max(1, 65536 // pixels.shape[1])
        for top in range(0, pixels.shape[0], rows):
            linear = table[pixels[top:top + rows]] @ matrix
            np.clip(linear, 0.0, 1.0, out=linear)
            linear *= 65535
            shown[top:top + rows] = encode[np.rint(linear, out=linear).astype(np.uint16)]
        return Image.fromarray(shown, "RGB")
    if abs(gamma * 2.2 - 1) >= 0.05:
        # A gamma other than sRGB's 1/2.2 (old Macs wrote 1/1.8, linear tools 1.0): Chromium 156 decodes the values
        # with it and shows them in sRGB (measured); near 1/2.2 it takes them as sRGB, as here.
        linear = (np.arange(256) / 255.0) ** (1.0 / gamma)
        encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
        rgb = rgb.point([int(v) for v in np.clip(np.rint(encoded * 255), 0, 255)] * 3)
    return rgb


def plain_rgb(img: Image.Image, shrink: Callable[[Image.Image], Image.Image] | None = None,
              before_white: bool = True) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, its values as they are; transparency is composited onto white.

    `shrink` (the caller's resize, of any size alone: it may be given a palette's three bands) runs on the RGB, on the
    grey of a grey, 1-bit or palette photo (one with alpha or a tRNS once on white, without `before_white`: the pixels
    of its RGBA composited, then shrunk), or, `before_white`, on the premultiplied RGBa before it goes onto white: an
    80 MP cut-out's 120 px thumbnail composites 14,400 pixels, not 80 million. The two orders differ by rounding only
    (up to 2 or 3 levels on a third of a cut-out's pixels), so training and prediction, whose features are cached,
    composite first (`to_rgb` without `before_white`).
    """
    hidden = colour_key_alpha(img)  # from the stored values, before a 16-bit grey is scaled
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = grey_levels(img)
    if hidden is not None:  # a keyed grey stays grey, so it goes onto white as grey (below)
        img = img.convert("RGB" if img.mode == "RGB" else "L")
        img.putalpha(hidden)
        img.info.pop("transparency", None)  # its alpha says it now
    # A GIF's first frame may cover part of its screen only: Chromium 156 shows the rest see-through (measured), where
    # Pillow fills it with the GIF's background colour.
    frame = getattr(img, "dispose_extent", None) if getattr(img, "format", None) == "GIF" else None
    part_covered = bool(frame) and tuple(frame) != (0, 0, *img.size)
    key = img.info.get("transparency") if img.mode == "P" else None
    if shrink is not None and not before_white and not part_covered and _keyed_grey_or_palette(img, key):
        return _onto_white_by_band(img, key, shrink)
    if img.mode == "P" and "transparency" in img.info or part_covered:
        img = img.convert("RGBA")
    if part_covered:
        covered = Image.new("L", img.size, 0)
        covered.paste(img.getchannel("A").crop(frame), frame[:2])
        img.putalpha(covered)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        if shrink is None or not before_white:
            rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
            return shrink(rgb) if shrink else rgb
        # Premultiplied, each colour is already its share over black: onto white adds the see-through rest.
        # (As 16-bit: a filter with negative lobes, such as Lanczos, may leave a colour above its alpha.)
        premultiplied = np.asarray(shrink(rgba.convert("RGBa")), dtype=np.int16)
        onto_white = premultiplied[..., :3] + (255 - premultiplied[..., 3:])
        return Image.fromarray(np.clip(onto_white, 0, 255).astype(np.uint8), "RGB")
    if shrink is not None and img.mode in ("1", "L", "P"):
        # Pillow keeps RGB at 4 bytes a pixel, grey at 1, and resizes each band alike: a grey shrunk, then made RGB, is
        # the same pixels as the RGB shrunk (a 40 MP grey PNG's 224 px: +47 MB, was +201; a palette's +87, was +202).
        # A palette's bands are its indices looked up (`point`, as `convert` does; past a short palette, black), one
        # band if they match.
        if img.mode != "P":
            return shrink(img.convert("L") if img.mode == "1" else img).convert("RGB")
        palette = (img.getpalette() or []) + [0] * 768
        bands = [palette[band:768:3] for band in range(3)]
        if bands[0] == bands[1] == bands[2]:
            return shrink(img.point(bands[0], "L")).convert("RGB")
        return Image.merge("RGB", [shrink(img.point(band, "L")) for band in bands])
    # Most photos are RGB already: converting would only copy them.
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    return shrink(rgb) if shrink else rgb


def _keyed_grey_or_palette(img: Image.Image, key) -> bool:
    """Whether `img` is a grey or palette cut-out that `_onto_white_by_band` can put onto white: LA/PA, or a palette
    with one see-through index or a tRNS no longer than its palette (a longer one Pillow's RGBA refuses, as before)."""
    if img.mode in ("LA", "PA") or isinstance(key, int):
        return True
    return isinstance(key, bytes) and len(key) <= len(img.getpalette() or []) // 3


def _onto_white_by_band(img: Image.Image, key, shrink: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """A grey or palette cut-out (`_keyed_grey_or_palette`; `key`: its palette's transparency) put onto white band by
    band, then shrunk: the pixels of its RGBA composited, then shrunk, in a fraction of the memory and time.

    White pasted through its see-through share rounds as alpha_composite does (all 65,536 pairs of value and alpha
    checked). A 40 MP grey cut-out's 224 px: +76 MB, was +457 MB, made RGBA three times over, 4x faster; a palette's
    +114 MB, 2x faster. A palette's alpha: its tRNS's per index (past it opaque), or its one see-through index (as
    Pillow's RGBA).
    """
    if key is None:  # LA or PA: its alpha band
        see_through = img.getchannel("A").point([255 - a for a in range(256)])
    else:
        alphas = [0 if i == key else 255 for i in range(256)] if isinstance(key, int) else \
            [*key[:256], *[255] * (256 - len(key[:256]))]
        see_through = img.point([255 - a for a in alphas], "L")
    indices = img if img.mode == "P" else img.getchannel(0)
    palette = (img.getpalette() or []) + [0] * 768  # as an index past a short palette: black
    bands = [None] if img.mode == "LA" else [palette[band:768:3] for band in range(3)]
    shown = []
    for band in bands[:1] if all(band == bands[0] for band in bands) else bands:  # a grey palette: one band
        onto_white = indices.point(band, "L") if band else indices
        onto_white.paste(255, mask=see_through)
        shown.append(shrink(onto_white))
    # Merged, not converted: a band keeps its palette's tRNS, which a convert would read again.
    return Image.merge("RGB", shown * 3 if len(shown) == 1 else shown)


def grey_levels(img: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit or float greyscale image as 8-bit grey (L), scaled by what its values show, never clipped.

    By bands of about 64k pixels, each read as float64 and written into the result: a 40 MP 16-bit PNG as float64 at
    once took 320 MB per copy (1.3 GB at the peak, five copies), by bands about 0.5 MB (the same pixels).
    """
    rows = max(1, 65536 // img.width)
    boxes = [(0, top, img.width, min(top + rows, img.height)) for top in range(0, img.height, rows)]
    if img.mode.startswith("I;16"):
        low, high = 0.0, 65535.0  # all its values fit: only the mode decides (below)
    elif img.mode == "I":
        low, high = map(float, img.getextrema())  # Pillow's C loop, no copy (integers are all finite)
    else:
        low, high = np.inf, -np.inf
        for box in boxes:
            band = np.asarray(img.crop(box), dtype=np.float64)
            finite = band[np.isfinite(band)]  # a float scan's NaN or inf pixels (no data, a sensor's overflow)
            if finite.size:
                low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        if low > high:  # no finite value at all
            low, high = 0.0, 0.0
    # `step`: how much of the values is one grey level of the 256.
    if img.mode.startswith("I;16") or (0 <= low and high <= 65535 and img.mode == "I" and high > 255):
        low, step = 0.0, 256.0  # its high byte, as Chromium shows a 16-bit PNG (Pillow opens some 16-bit files as I)
    elif 0 <= low and high <= 1.0 and img.mode == "F":
        low, step = 0.0, 1.0 / 255  # floating-point images usually hold 0..1
    elif 0 <= low and high <= 255 and img.mode == "I":
        low, step = 0.0, 1.0
    else:  # other floats (0..255, HDR's 0..3.5, -1..1) and wider integers: the photo's own range, black kept at 0
        low = min(low, 0.0)
        step = max(high - low, 1e-12) / 255
    grey = Image.new("L", img.size)
    for box in boxes:
        # NaN is no data (black, as low); +inf past the brightest (white), -inf below the darkest.
        band = np.nan_to_num(np.asarray(img.crop(box), dtype=np.float64), nan=low, posinf=low + 255 * step, neginf=low)
        grey.paste(Image.fromarray(np.clip((band - low) / step, 0, 255).astype(np.uint8), "L"), box[:2])
    return grey


def colour_key_alpha(img: Image.Image) -> Image.Image | None:
    """The alpha of an image whose one colour stands for transparent (a PNG's tRNS on RGB or grey pixels), or None.

    PNG optimisers (optipng, oxipng) store an RGBA cut-out whose see-through pixels share one colour so; Pillow
    keeps the colour as `info["transparency"]` and its pixels as they are. A palette's transparency is Pillow's
    to convert (its `P` to `RGBA`), and a key no pixel has changes nothing.
    """
    key = img.info.get("transparency")
    if img.mode not in ("1", "L", "RGB", "I;16", "I;16B", "I;16L", "I") or not isinstance(key, (int, tuple)):
        return None
    pixels = np.asarray(img)
    if isinstance(key, tuple) != (pixels.ndim == 3) or (isinstance(key, tuple) and len(key) != pixels.shape[-1]):
        return None  # a key that does not fit the pixels (a damaged tRNS) hides nothing
    hidden = np.all(pixels == np.asarray(key), axis=-1) if pixels.ndim == 3 else pixels == key
    return Image.fromarray(np.where(hidden, 0, 255).astype(np.uint8), "L") if hidden.any() else None
