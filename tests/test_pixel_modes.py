"""Any Pillow mode to 8-bit sRGB: transparency goes onto white however the file says it is transparent."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import grey_profile
from glr.data.images import decode_image, image_size, load_resized
from test_images import quadrant_colours, quadrants

WHITE_TOP = [(255, 255, 255), (255, 255, 255), (0, 0, 255), (255, 255, 255)]


def _png(img: Image.Image, **kw) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", **kw)
    return buffer.getvalue()


def _keyed(mode: str) -> bytes:
    """The quadrants with their top half transparent through a tRNS colour key (black), in `mode`: what PNG
    optimisers (optipng, oxipng) make of an RGBA cut-out whose see-through pixels are all one colour."""
    pixels = quadrants()
    pixels[:24] = 0
    if mode == "RGB":
        return _png(Image.fromarray(pixels), transparency=(0, 0, 0))
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    if mode == "L":
        return _png(Image.fromarray(grey), transparency=0)
    return _png(Image.fromarray(grey.astype(np.uint16) * 257), transparency=0)  # 16-bit grey


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16"])
def test_a_png_whose_transparency_is_a_colour_key_goes_onto_white_like_its_rgba_original(mode):
    # Was the key colour (black) where an RGBA PNG of the same picture, or a palette PNG with tRNS, gives white.
    data = _keyed(mode)
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == mode and "transparency" in img.info
    out = decode_image(data)
    grey = {(0, 0, 255): (29, 29, 29)} if mode != "RGB" else {}
    for got, want in zip(quadrant_colours(out), WHITE_TOP):
        assert np.abs(np.subtract(got, grey.get(want, want))).max() <= 1, (got, want)
    rgba = quadrants()
    rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
    rgba[:24, :, 3] = 0
    if mode == "RGB":
        assert np.array_equal(out, decode_image(_png(Image.fromarray(rgba))))
    assert load_resized(data, 32, refuse_blank=True).shape == (32, 32, 3)


def test_a_key_colour_that_no_pixel_has_changes_nothing():
    data = _png(Image.fromarray(quadrants()), transparency=(1, 2, 3))
    assert np.array_equal(decode_image(data), quadrants())


def _chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("colour_type, trns", [(2, b"\0\0"), (0, b"\0")])
def test_a_png_whose_transparency_chunk_is_too_short_decodes_without_it(tmp_path, colour_type, trns):
    # libpng ignores a tRNS too short for its colour type (a benign error), so browsers show the picture; glr said
    # "image file is truncated (incomplete download or copy?)" of a whole file, and left it out of training.
    import struct
    import zlib

    pixels = quadrants() if colour_type == 2 else quadrants()[..., 0]
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, colour_type, 0, 0, 0))
            + _chunk(b"tRNS", trns) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))
    path = tmp_path / "logo.png"
    path.write_bytes(data)
    out = decode_image(path)
    assert np.array_equal(out if colour_type == 2 else out[..., 0], pixels)
    assert load_resized(path, 32).shape == (32, 32, 3)
    assert image_size(path) == (64, 48)  # was None: the size statistics counted it unreadable, as decoding no longer does


def _float_tiff(arr: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(arr.astype(np.float32), "F").save(buffer, format="TIFF")
    return buffer.getvalue()


RAMP = np.linspace(0.0, 1.0, 64 * 64).reshape(64, 64)


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (255.0, 0.0), (10200.0, 0.0), (3.5, 0.0), (2.0, -1.0)],
                         ids=["0..1", "0..255", "0..10200", "hdr-0..3.5", "-1..1"])
def test_a_float_tiff_is_scaled_by_its_own_range_not_clipped_or_darkened(scale, offset):
    # Was: 0..10200 came out at most 39 (divided by 65535), HDR 0..3.5 at most 3 (divided by 255): a black photo.
    out = decode_image(_float_tiff(RAMP * scale + offset))[..., 0].astype(int)
    assert out.min() == 0 and out.max() == 255
    assert abs(out[32, 32] - 128) <= 2  # the ramp's middle stays grey


def test_nan_and_inf_pixels_of_a_float_tiff_are_black_and_white_not_the_whole_photo_black():
    # Was: an inf pixel turned into 1.8e308 and every other pixel went black.
    arr = RAMP * 255.0
    arr[0, :3] = [np.nan, np.inf, -np.inf]
    out = decode_image(_float_tiff(arr))[..., 0]
    assert list(out[0, :3]) == [0, 255, 0]
    assert abs(int(out[32, 32]) - 128) <= 2 and out.max() == 255
    assert decode_image(_float_tiff(np.full((8, 8), np.nan))).max() == 0  # no data at all: black, no crash


def test_a_32_bit_integer_tiff_past_16_bits_is_scaled_by_its_range():
    # Was: everything above 65535 clipped to white.
    arr = (RAMP * 1_000_000).astype(np.int32)
    buffer = io.BytesIO()
    Image.fromarray(arr, "I").save(buffer, format="TIFF")
    out = decode_image(buffer.getvalue())[..., 0].astype(int)
    assert out.max() == 255 and abs(out[32, 32] - 128) <= 2


def test_a_sixteen_bit_grey_png_shows_each_values_high_byte_as_chromium_does():
    # Measured in Chromium 156: 16384, 33024, 33288, 51600 show as 64, 129, 130, 201. glr floored v / 65535 * 255:
    # 63, 128, 129, 200, one grey level darker.
    values = np.array([[0, 16384, 33024, 33288, 51600, 65535]], np.uint16)
    assert list(decode_image(_png(Image.fromarray(values)))[0, :, 0]) == [0, 64, 129, 130, 201, 255]
    as_int = io.BytesIO()
    Image.fromarray(values.astype(np.int32), "I").save(as_int, format="TIFF")  # 16-bit values as 32-bit integers
    assert list(decode_image(as_int.getvalue())[0, :, 0]) == [0, 64, 129, 130, 201, 255]


def _grey_png_with_gamma(values: list[int], gamma: int, extra: bytes = b"") -> bytes:
    """A grey PNG of `values` (one pixel each) whose gAMA chunk says `gamma` (x 100000), then chunks `extra`."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", len(values), 1, 8, 0, 0, 0, 0))
            + chunk(b"gAMA", struct.pack(">I", gamma)) + extra
            + chunk(b"IDAT", zlib.compress(b"\0" + bytes(values))) + chunk(b"IEND", b""))


GREYS = [5, 10, 30, 64, 128, 200, 250]


@pytest.mark.parametrize("gamma, shown", [
    (100000, [38, 56, 96, 137, 188, 229, 253]),  # linear (1.0): scientific and 3D tools
    (55556, [3, 10, 40, 81, 146, 210, 251]),  # 1/1.8: old Mac software
    (50000, [1, 5, 31, 71, 137, 206, 251]),
    (45455, GREYS), (45000, GREYS),  # sRGB's 1/2.2 and near it: the values as they are
])
def test_a_png_whose_gamma_chunk_is_not_srgbs_is_shown_as_chromium_shows_it(gamma, shown):
    # Measured in Chromium 156 (every value above, exactly). Was: the values as they are, whatever gAMA said.
    assert list(decode_image(_grey_png_with_gamma(GREYS, gamma))[0, :, 0]) == shown
    assert list(load_resized(_grey_png_with_gamma(GREYS, gamma), (7, 1))[0, :, 0]) == shown


def test_a_png_gamma_chunk_gives_way_to_an_srgb_chunk():
    srgb = b"\x00\x00\x00\x01sRGB\x00\xae\xce\x1c\xe9"  # rendering intent 0, as every editor writes it
    assert list(decode_image(_grey_png_with_gamma(GREYS, 100000, srgb))[0, :, 0]) == GREYS


def _chunk(kind: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


PATCHES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (200, 100, 50), (255, 255, 255), (50, 150, 220),
           (20, 20, 20)]
# White point, then the red, green and blue primaries (x, y), as a cHRM chunk holds them.
SRGB_PRIMARIES = ((0.3127, 0.329), (0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
ADOBE_RGB = ((0.3127, 0.329), (0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
DISPLAY_P3 = ((0.3127, 0.329), (0.68, 0.32), (0.265, 0.69), (0.15, 0.06))
D50_WHITE = ((0.3457, 0.3585), (0.64, 0.33), (0.30, 0.60), (0.15, 0.06))


def _patches_png(*chunks: bytes) -> bytes:
    """A PNG of 10x10 patches of PATCHES' colours, `chunks` right after its IHDR (before its pixels)."""
    img = Image.new("RGB", (10 * len(PATCHES), 10))
    for i, colour in enumerate(PATCHES):
        img.paste(colour, (10 * i, 0, 10 * i + 10, 10))
    png = _png(img)
    return png[:33] + b"".join(chunks) + png[33:]


def _gama(gamma: float) -> bytes:
    import struct

    return _chunk(b"gAMA", struct.pack(">I", round(gamma * 100000)))


def _chrm(points) -> bytes:
    import struct

    return _chunk(b"cHRM", struct.pack(">8I", *(round(v * 100000) for point in points for v in point)))


def _srgb_iccp() -> bytes:
    import zlib

    from PIL import ImageCms

    return _chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()))


@pytest.mark.parametrize("chunks, shown", [
    # Each patch's colour as headless Chromium 156 drew the PNG on a canvas (measured): exactly these values.
    ((_gama(1 / 2.2), _chrm(SRGB_PRIMARIES)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (129, 129, 129), (201, 100, 46), (255, 255, 255), (46, 151, 221),
      (12, 12, 12)]),
    ((_gama(1 / 2.2), _chrm(ADOBE_RGB)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (129, 129, 129), (227, 100, 42), (255, 255, 255), (0, 151, 223),
      (12, 12, 12)]),
    ((_gama(1 / 2.2), _chrm(DISPLAY_P3)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (129, 129, 129), (216, 93, 24), (255, 255, 255), (0, 154, 227),
      (12, 12, 12)]),
    ((_gama(1 / 2.2), _chrm(D50_WHITE)),
     [(255, 16, 25), (0, 255, 47), (0, 0, 251), (129, 129, 129), (209, 101, 53), (255, 255, 255), (0, 151, 218),
      (12, 12, 12)]),
    ((_gama(1.0), _chrm(ADOBE_RGB)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (188, 188, 188), (248, 168, 120), (255, 255, 255), (56, 202, 240),
      (79, 79, 79)]),
    ((_gama(1 / 1.8), _chrm(ADOBE_RGB)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (146, 146, 146), (235, 119, 62), (255, 255, 255), (0, 167, 229),
      (26, 26, 26)]),
    ((_gama(1.0), _chrm(SRGB_PRIMARIES)),  # as gAMA alone (row 540)
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (188, 188, 188), (229, 168, 122), (255, 255, 255), (122, 202, 239),
      (79, 79, 79)]),
    ((_chrm(ADOBE_RGB),), PATCHES),  # cHRM without gAMA: no colour space
    ((_chunk(b"sRGB", b"\x00"), _gama(1.0), _chrm(ADOBE_RGB)), PATCHES),  # an sRGB chunk wins
    ((_srgb_iccp(), _gama(1.0), _chrm(ADOBE_RGB)), PATCHES),  # so does a colour profile
], ids=["gamma-2.2-srgb-primaries", "gamma-2.2-adobe-rgb", "gamma-2.2-display-p3", "gamma-2.2-d50-white",
        "linear-adobe-rgb", "gamma-1.8-adobe-rgb", "linear-srgb-primaries", "chrm-alone", "srgb-chunk-wins",
        "iccp-wins"])
def test_a_png_with_gamma_and_chromaticities_is_shown_as_chromium_shows_it(chunks, shown):
    # Was: cHRM ignored (Adobe RGB's orange 227,100,42 read as 200,100,50), and a gAMA of 1/2.2 beside it taken as
    # sRGB's curve where Chromium decodes it as a pure power (128 shows as 129, 20 as 12).
    data = _patches_png(*chunks)
    decoded = decode_image(data)
    assert [tuple(int(v) for v in decoded[5, 10 * i + 5]) for i in range(len(PATCHES))] == shown
    assert np.array_equal(load_resized(data, (10 * len(PATCHES), 10)), decoded)  # training's and prediction's way
    halved = load_resized(data, (5 * len(PATCHES), 5))  # converted after the resize: the middle of each patch
    assert all(np.abs(halved[2, 5 * i + 2].astype(int) - shown[i]).max() <= 2 for i in range(len(PATCHES)))


@pytest.mark.parametrize("chunks, shown", [
    ((_gama(1.0),),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (188, 188, 188), (229, 168, 122), (255, 255, 255), (122, 202, 239),
      (79, 79, 79)]),
    ((_gama(1.0), _chrm(ADOBE_RGB)),
     [(255, 0, 0), (0, 255, 0), (0, 0, 255), (188, 188, 188), (248, 168, 120), (255, 255, 255), (56, 202, 240),
      (79, 79, 79)]),
], ids=["gamma", "gamma-and-chromaticities"])
def test_an_iccp_chunk_holding_no_profile_leaves_gamma_and_chromaticities_to_speak_as_chromium_does(chunks, shown):
    # Measured in Chromium 156: an iCCP chunk whose (well-compressed) bytes are no ICC profile is passed over, and the
    # gAMA and cHRM beside it are applied. Was: the values as they are, the gamma ignored because a profile was there.
    import zlib

    broken = _chunk(b"iCCP", b"x\x00\x00" + zlib.compress(b"garbage" * 40))
    decoded = decode_image(_patches_png(broken, *chunks))
    assert [tuple(int(v) for v in decoded[5, 10 * i + 5]) for i in range(len(PATCHES))] == shown


def _patches_avif(primaries: int, transfer: int) -> bytes:
    """The PATCHES as an AVIF (4:4:4, quality 100) whose nclx colour box says `primaries` and `transfer` (H.273)."""
    img = Image.new("RGB", (10 * len(PATCHES), 10))
    for i, colour in enumerate(PATCHES):
        img.paste(colour, (10 * i, 0, 10 * i + 10, 10))
    buffer = io.BytesIO()
    img.save(buffer, "AVIF", quality=100, subsampling="4:4:4")  # Pillow writes nclx 1, 13 (sRGB)
    data = buffer.getvalue()
    at = data.index(b"colrnclx") + 8
    return data[:at] + bytes([0, primaries, 0, transfer]) + data[at + 4:]


P3_SHOWN = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (215, 93, 31), (255, 255, 255), (0, 153, 226),
            (20, 20, 20)]
LINEAR_SHOWN = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (188, 188, 188), (229, 168, 122), (255, 255, 255),
                (122, 202, 239), (79, 79, 79)]


@pytest.mark.parametrize("data, shown", [
    # Each as headless Chromium 156 drew it (measured; an AVIF within 2 levels: its YUV rounds).
    (lambda: _patches_png(_chunk(b"cICP", bytes([12, 13, 0, 1]))), P3_SHOWN),  # Display P3
    (lambda: _patches_png(_chunk(b"cICP", bytes([1, 8, 0, 1]))), LINEAR_SHOWN),  # BT.709 primaries, linear
    (lambda: _patches_png(_chunk(b"cICP", bytes([1, 13, 0, 1]))), PATCHES),  # sRGB itself
    (lambda: _patches_png(_srgb_iccp(), _chunk(b"cICP", bytes([12, 13, 0, 1]))), P3_SHOWN),  # cICP before iCCP
    (lambda: _patches_png(_chunk(b"cICP", bytes([9, 16, 0, 1]))), PATCHES),  # PQ (HDR): taken as sRGB, not tone-mapped
    (lambda: _patches_avif(12, 13), P3_SHOWN),
    (lambda: _patches_avif(9, 13), [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (241, 76, 29),
                                    (255, 255, 255), (0, 158, 225), (20, 20, 20)]),  # BT.2020
    (lambda: _patches_avif(1, 8), [(255, 0, 13), (0, 255, 0), (0, 0, 254), (188, 188, 188), (229, 168, 122),
                                   (255, 255, 255), (121, 202, 238), (79, 79, 79)]),  # its YUV's 1 in red: 13
    (lambda: _patches_avif(1, 13), PATCHES),
    (lambda: _patches_avif(12, 1), P3_SHOWN),  # BT.709's transfer: sRGB's curve, as Chromium takes it
    (lambda: _patches_avif(12, 2), P3_SHOWN),  # an unspecified transfer too
    (lambda: _patches_avif(1, 1), PATCHES),
    (lambda: _patches_avif(2, 2), PATCHES),
    (lambda: _patches_avif(1, 4), [(255, 0, 0), (0, 255, 0), (0, 0, 253), (129, 129, 129), (201, 100, 46),
                                   (255, 255, 255), (45, 152, 219), (12, 12, 12)]),  # a pure power of 2.2
], ids=["png-cicp-display-p3", "png-cicp-linear", "png-cicp-srgb", "png-cicp-before-iccp", "png-cicp-pq",
        "avif-nclx-display-p3", "avif-nclx-bt2020", "avif-nclx-linear", "avif-nclx-srgb", "avif-nclx-p3-bt709-transfer",
        "avif-nclx-p3-unspecified-transfer", "avif-nclx-bt709", "avif-nclx-unspecified", "avif-nclx-gamma-2.2"])
def test_a_png_cicp_chunk_and_an_avif_nclx_box_are_shown_as_chromium_shows_them(data, shown):
    # Was: both ignored (Pillow reads neither), so a phone's Display P3 AVIF showed its orange 215,93,31 as 200,100,50.
    decoded = decode_image(data())
    got = [decoded[5, 10 * i + 5].astype(int) for i in range(len(PATCHES))]
    assert all(np.abs(g - want).max() <= 3 for g, want in zip(got, shown)), got


@pytest.mark.parametrize("transfer", [1, 6, 14, 15])
def test_a_png_whose_cicp_says_a_video_transfer_is_shown_as_chromium_shows_it(transfer):
    # Measured in Chromium 156: a PNG's cICP with BT.709's transfer (or BT.601's, BT.2020's: ffmpeg writes one on a
    # still taken from a phone's video) is decoded as a pure 2.4 power, where an AVIF's nclx saying the same is taken
    # as sRGB's curve. Was: sRGB's curve for both, so such a still showed its greys up to 13 levels too light.
    ramp = np.repeat(np.arange(0, 256, 32, dtype=np.uint8)[None, :, None], 3, axis=2)
    png = _png(Image.fromarray(ramp))
    decoded = decode_image(png[:33] + _chunk(b"cICP", bytes([1, transfer, 0, 1])) + png[33:])
    assert np.abs(decoded[0, :, 0].astype(int) - [0, 20, 54, 87, 121, 155, 189, 222]).max() <= 1, decoded[0, :, 0]
    assert (decoded[0] == decoded[0, :, :1]).all()  # greys stay grey
    assert np.array_equal(decode_image(_patches_avif(1, transfer)), decode_image(_patches_avif(1, 13)))


def _patches_heic(primaries: int, transfer: int) -> bytes:
    """tests/fixtures/patches.heic (the PATCHES, nclx 1, 13) with its nclx box saying `primaries` and `transfer`."""
    from pathlib import Path

    data = (Path(__file__).parent / "fixtures" / "patches.heic").read_bytes()
    at = data.index(b"colrnclx") + 8
    return data[:at] + bytes([0, primaries, 0, transfer]) + data[at + 4:]


@pytest.mark.parametrize("primaries, transfer, shown", [
    (12, 13, P3_SHOWN),
    (9, 13, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (241, 76, 29), (255, 255, 255), (0, 158, 225),
             (20, 20, 20)]),
    (1, 8, [(255, 0, 0), (0, 255, 13), *LINEAR_SHOWN[2:]]),  # its YUV's 1 in green's blue: 13
    (12, 1, P3_SHOWN),  # BT.709's transfer: sRGB's curve, as in an AVIF
    (1, 13, PATCHES),
], ids=["display-p3", "bt2020", "linear", "p3-bt709-transfer", "srgb"])
def test_a_heic_nclx_box_is_shown_as_the_same_box_of_an_avif(primaries, transfer, shown):
    # Chromium 156 shows no HEIC at all (measured: an <img> of one has no size), so a HEIC's nclx box, the same box
    # as an AVIF's (both HEIF), is read as Chromium reads an AVIF's. Was: ignored (pi-heif applies none), a Display
    # P3 HEIC's orange 215,93,31 seen as 200,100,50.
    decoded = decode_image(_patches_heic(primaries, transfer))
    got = [decoded[5, 10 * i + 5].astype(int) for i in range(len(PATCHES))]
    assert all(np.abs(g - want).max() <= 3 for g, want in zip(got, shown)), got
    assert np.abs(load_resized(_patches_heic(primaries, transfer), (80, 10)).astype(int) - decoded).max() <= 1


def test_a_large_coded_photo_is_converted_by_bands_each_row_as_it_would_be_alone():
    # The conversion runs over bands of rows (a 12 MP photo at once took 0.5 s and 600 MB of floats): a row at a
    # band's edge, or in the last short band, gets the colours it gets on its own.
    pixels = np.random.default_rng(0).integers(0, 256, (700, 300, 3), dtype=np.uint8)  # bands of 218 rows
    cicp = _chunk(b"cICP", bytes([12, 13, 0, 1]))  # Display P3

    def coded(rows: np.ndarray) -> bytes:
        png = _png(Image.fromarray(rows))
        return png[:33] + cicp + png[33:]

    decoded = decode_image(coded(pixels))
    for row in (0, 217, 218, 435, 436, 654, 699):
        assert np.array_equal(decoded[row], decode_image(coded(pixels[row:row + 1]))[0]), row
    assert not np.array_equal(decoded, pixels)  # converted


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("name, gamma, shown", [
    ("GIMP built-in Linear sRGB", 1.0, LINEAR_SHOWN),
    ("sRGB IEC61966-2.1", 2.2, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (129, 129, 129), (201, 100, 46),
                                (255, 255, 255), (46, 151, 221), (12, 12, 12)]),  # sRGB's primaries, a 2.2 power
    ("sRGB gamma 1.8", 1.8, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (146, 146, 146), (210, 119, 65), (255, 255, 255),
                             (65, 167, 227), (26, 26, 26)]),
], ids=["gimp-linear-srgb", "srgb-named-gamma-2.2", "srgb-named-gamma-1.8"])
def test_a_profile_that_names_itself_srgb_but_is_not_is_applied_as_chromium_applies_it(fmt, name, gamma, shown):
    # Measured in Chromium 156, which applies a profile by what it says, not by its name. GIMP embeds its "Linear
    # sRGB" in a high-bit-depth image exported as PNG or JPEG. Was: any profile whose description held "sRGB" was
    # passed over, so such a photo showed its greys 60 levels dark (128 for 188).
    from conftest import SRGB_BLUE, SRGB_GREEN, SRGB_RED, rgb_profile

    img = Image.open(io.BytesIO(_patches_png()))
    buffer = io.BytesIO()
    img.save(buffer, fmt, icc_profile=rgb_profile(SRGB_RED, SRGB_GREEN, SRGB_BLUE, gamma, name),
             **({"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}))
    if fmt == "JPEG" and gamma == 1.0:  # its YCbCr leaves 1 in green's blue: 13 once linear (so Chromium shows it)
        shown = [(0, 255, 13) if want == (0, 255, 0) else want for want in shown]
    decoded = decode_image(buffer.getvalue())
    got = [decoded[5, 10 * i + 5].astype(int) for i in range(len(PATCHES))]
    assert all(np.abs(g - want).max() <= 2 for g, want in zip(got, shown)), got


def test_a_gif_whose_first_frame_covers_part_of_its_screen_shows_the_rest_see_through():
    # Measured in Chromium 156: the screen outside the first frame is see-through (white here, as all transparency).
    # Was: Pillow's fill with the GIF's background colour, so the whole picture showed the frame's orange.
    import struct

    frame = Image.new("RGB", (40, 10), (200, 100, 50)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    buffer = io.BytesIO()
    frame.save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    data[6:8] = struct.pack("<H", 80)  # the logical screen: 80 px wide
    at = data.index(b"\x2c")  # the frame's descriptor: 20 px from the left
    data[at + 1:at + 3] = struct.pack("<H", 20)
    decoded = decode_image(bytes(data))
    assert decoded.shape == (10, 80, 3)
    assert [tuple(int(v) for v in decoded[5, x]) for x in (5, 19, 20, 59, 60, 75)] == [
        (255, 255, 255), (255, 255, 255), (200, 100, 50), (200, 100, 50), (255, 255, 255), (255, 255, 255)]
    assert np.array_equal(decode_image(_png(frame.convert("RGB"))), decoded[:, 20:60])  # a whole frame: as it was


def _sixteen_bit_ramp(width: int, height: int) -> np.ndarray:
    """A 16-bit grey ramp with every row different: its bands (grey_levels) each hold other values."""
    return (np.add.outer(np.arange(height) * 97, np.arange(width) * 13) % 65536).astype(np.uint16)


def test_a_sixteen_bit_grey_photo_is_scaled_by_bands_not_as_whole_photo_floats():
    # Was: the whole photo as float64 before it was shrunk, five copies at once (a 40 MP scan: 1.3 GB at the peak).
    import tracemalloc

    data = _png(Image.fromarray(_sixteen_bit_ramp(1000, 1000)))  # 1 MP: 8 MB a float64 copy
    tracemalloc.start()
    try:
        load_resized(data, 32)
        decode_image(data, shrink=lambda grey: grey.resize((32, 32)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, f"{peak:,} bytes of arrays at the peak"


def test_a_sixteen_bit_grey_photo_shrunk_first_has_the_pixels_of_its_high_byte_shrunk_as_rgb():
    # Shrunk as 8-bit grey, then made RGB (a 16-bit grey now): the same pixels as the old order, RGB then shrunk, which
    # an 8-bit grey PNG of its high bytes still takes. 300 px wide: bands of 218 rows, so three of them.
    values = _sixteen_bit_ramp(300, 500)
    high_bytes = _png(Image.fromarray((values >> 8).astype(np.uint8)))
    for size in (32, (37, 23)):
        assert np.array_equal(load_resized(_png(Image.fromarray(values)), size), load_resized(high_bytes, size))
    as_int = io.BytesIO()
    Image.fromarray(values.astype(np.int32), "I").save(as_int, format="TIFF")
    assert np.array_equal(decode_image(as_int.getvalue()), decode_image(high_bytes))


def test_a_float_photos_range_is_read_across_all_its_bands():
    # Its darkest value in the first band, its brightest and its NaN in the last (bands of 218 rows at 300 px).
    values = np.linspace(0.5, 3.5, 300 * 500, dtype=np.float32).reshape(500, 300)
    values[-1, 0] = np.nan
    buffer = io.BytesIO()
    Image.fromarray(values, "F").save(buffer, format="TIFF")
    expected = np.clip(np.nan_to_num(values.astype(np.float64), nan=0.0) / (3.5 / 255), 0, 255).astype(np.uint8)
    assert np.array_equal(decode_image(buffer.getvalue())[..., 0], expected)


def _few_levels(width: int, height: int) -> np.ndarray:
    """8-bit values with every row and column different, edges and flats both (a ramp folded on itself)."""
    return (np.add.outer(np.arange(height) * 7, np.arange(width) * 3) % 251).astype(np.uint8)


def _palette_photo(levels: np.ndarray, palette: list[int]) -> Image.Image:
    photo = Image.fromarray(levels, "P")
    photo.putpalette(palette)
    return photo


def _narrow_modes() -> dict[str, bytes]:
    """A 90 x 70 photo as each of the modes shrunk as grey: grey, 1-bit, a grey palette, a colour palette, and a palette
    shorter than its indices (those past it are black), each as a PNG (a GIF's palette too)."""
    levels = _few_levels(90, 70)
    colours = [int(v) for v in np.random.default_rng(8).integers(0, 256, 768)]
    greys = [v for level in np.random.default_rng(9).integers(0, 256, 256) for v in (int(level),) * 3]
    grey = Image.fromarray(levels, "L")
    photos = {"L": _png(grey), "1": _png(grey.convert("1")), "P grey": _png(_palette_photo(levels, greys)),
              "P colour": _png(_palette_photo(levels, colours)), "P short": _png(_palette_photo(levels, colours[:120]))}
    gif = io.BytesIO()
    _palette_photo(levels, colours).save(gif, format="GIF")
    return {**photos, "GIF": gif.getvalue()}


NARROW_MODES = _narrow_modes()


def _counted_conversions(monkeypatch) -> list[tuple[str, str | None, tuple[int, int]]]:
    """Every Image.convert from here on, as (its mode, the mode asked, its size)."""
    converted = []
    convert = Image.Image.convert

    def counted(img, mode=None, *args, **kwargs):
        converted.append((img.mode, mode, img.size))
        return convert(img, mode, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", counted)
    return converted


@pytest.mark.parametrize("name", NARROW_MODES)
def test_a_grey_1_bit_or_palette_photo_is_shrunk_as_grey_never_made_rgb_at_full_size(name, monkeypatch):
    # Was: made RGB (4 bytes a pixel in Pillow) at full size, then shrunk: a 40 MP grey PNG's 224 px peaked at +202 MB
    # (now +48 MB), a 1-bit or palette PNG's at +200 MB (now +88 MB).
    converted = _counted_conversions(monkeypatch)
    load_resized(NARROW_MODES[name], 32)
    decode_image(NARROW_MODES[name], shrink=lambda photo: photo.resize((20, 30), Image.Resampling.LANCZOS))
    assert all(size[0] <= 32 for _, mode, size in converted if mode != "L"), converted  # a colour palette: none at all


@pytest.mark.parametrize("name", NARROW_MODES)
def test_a_grey_1_bit_or_palette_photo_shrunk_as_grey_has_the_pixels_of_its_rgb_shrunk(name):
    # Training's features are cached by the photo, not by how it was decoded: the pixels must not move by one level.
    from PIL import ImageOps

    def thumbnail(photo):
        photo.thumbnail((40, 40), Image.Resampling.LANCZOS)  # in place, as glr.explain and from_uploads shrink
        return photo

    rgb = Image.open(io.BytesIO(NARROW_MODES[name])).convert("RGB")
    for size in (32, (37, 23), (200, 150)):  # (200, 150): enlarged
        width, height = (size, size) if isinstance(size, int) else size
        expected = rgb.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
        assert np.array_equal(load_resized(NARROW_MODES[name], size), np.asarray(expected)), size
    for shrink in (thumbnail, lambda photo: ImageOps.fit(photo, (24, 24)), lambda photo: photo.crop((5, 6, 7, 9)),
                   lambda photo: photo.resize((45, 33), Image.Resampling.BICUBIC)):
        assert np.array_equal(decode_image(NARROW_MODES[name], shrink=shrink), np.asarray(shrink(rgb.copy())))


def test_a_cmyk_jpeg_becomes_rgb_at_its_reduced_decoding_size_only(monkeypatch):
    # Checked, not changed: JPEG's DCT scaling (draft) decodes a 40 MP CMYK JPEG at 1/8 (913 x 685) before it becomes
    # RGB. Shrinking the CMYK itself first would move pixels (Pillow's CMYK to RGB multiplies: up to 24 levels).
    buffer = io.BytesIO()
    Image.fromarray(np.stack([_few_levels(800, 600)] * 4, axis=-1), "CMYK").save(buffer, format="JPEG")
    converted = _counted_conversions(monkeypatch)
    assert load_resized(buffer.getvalue(), 32).shape == (32, 32, 3)
    assert ("CMYK", "RGB", (100, 75)) in converted and all(size[0] <= 100 for *_, size in converted), converted


GREY_WITH_PROFILE = _png(Image.fromarray(_few_levels(120, 90)), icc_profile=grey_profile())


def test_a_grey_photo_with_a_grey_profile_is_looked_up_and_shrunk_as_grey_not_converted_whole(monkeypatch):
    # Was: the profile applied to every pixel as RGB at full size, then shrunk: a 40 MP grey PNG with a grey profile's
    # 224 px took 1.1 s and peaked at +202 MB (now 0.3 s, +87 MB).
    from PIL import ImageCms

    transformed = []
    apply = ImageCms.applyTransform

    def counted(img, *args, **kwargs):
        transformed.append(img.size)
        return apply(img, *args, **kwargs)

    monkeypatch.setattr(ImageCms, "applyTransform", counted)
    converted = _counted_conversions(monkeypatch)
    load_resized(GREY_WITH_PROFILE, 32)
    assert transformed == [(256, 1)] and all(size[0] <= 32 for _, mode, size in converted if mode != "L"), converted


def test_a_grey_photo_with_a_grey_profile_shrunk_as_grey_has_the_pixels_of_its_profile_applied_then_shrunk():
    from PIL import ImageCms

    grey = Image.open(io.BytesIO(GREY_WITH_PROFILE))
    transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(grey_profile())),
                                        ImageCms.createProfile("sRGB"), "L", "RGB")
    shown = ImageCms.applyTransform(grey, transform)
    assert np.asarray(shown)[40, 50, 0] not in (0, np.asarray(grey)[40, 50], 255)  # the profile does count
    for size in (32, (37, 23)):
        width, height = (size, size) if isinstance(size, int) else size
        expected = shown.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
        assert np.array_equal(load_resized(GREY_WITH_PROFILE, size), np.asarray(expected)), size
    thumbnail = decode_image(GREY_WITH_PROFILE, shrink=lambda photo: photo.resize((45, 33), Image.Resampling.LANCZOS))
    assert np.array_equal(thumbnail, np.asarray(shown.resize((45, 33), Image.Resampling.LANCZOS)))


def lut_profile(space: bytes, corners) -> bytes:
    """A version 2 ICC profile of colour space `space` (b"CMYK" or b"GRAY") whose A2B0 table (lut16, two points a
    channel) takes each corner of its inputs (all 0 or all 255 per channel, the first channel varying slowest) to the
    sRGB colour `corners` gives it (a function of 0/1 per channel to linear r, g, b in 0..1), through D50 XYZ."""
    import itertools
    import struct

    channels = 4 if space == b"CMYK" else 1
    srgb_to_xyz = np.array([(0.4361, 0.3851, 0.1431), (0.2225, 0.7169, 0.0606), (0.0139, 0.0971, 0.7141)])
    clut = [min(0xFFFF, round(v * 0x8000)) for corner in itertools.product((0, 1), repeat=channels)
            for v in srgb_to_xyz @ np.array(corners(*corner), dtype=float)]  # XYZ as lut16 holds it: 1.0 is 0x8000
    identity = b"".join(struct.pack(">i", v * 65536) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    table = (b"mft2" + bytes(4) + bytes([channels, 3, 2, 0]) + identity + struct.pack(">HH", 2, 2)
             + struct.pack(f">{2 * channels}H", *[0, 0xFFFF] * channels) + struct.pack(f">{len(clut)}H", *clut)
             + struct.pack(">6H", *[0, 0xFFFF] * 3))
    d50 = b"".join(struct.pack(">i", round(v * 65536)) for v in (0.9642, 1.0, 0.8249))
    tags = {b"A2B0": table, b"wtpt": b"XYZ \0\0\0\0" + d50,
            b"desc": b"desc\0\0\0\0" + struct.pack(">I", 4) + b"lut\0" + bytes(79)}
    start, directory, body = 132 + 12 * len(tags), b"", b""
    for signature, data in tags.items():
        data += bytes(-len(data) % 4)
        directory, body = directory + signature + struct.pack(">II", start + len(body), len(data)), body + data
    header = struct.pack(">I4sI4s4s4s12s4s", start + len(body), b"lcms", 0x02100000,
                         b"prtr" if space == b"CMYK" else b"mntr", space, b"XYZ ", bytes(12), b"acsp") + bytes(28) + d50
    return header + bytes(128 - len(header)) + struct.pack(">I", len(tags)) + directory + body


# A CMYK profile whose cyan and yellow inks are swapped (each corner as Pillow's own CMYK to RGB gives it otherwise):
# a photo carrying it shows its cyan ink yellow and its yellow ink cyan, as a browser applying the profile does.
SWAPPED_INKS = lut_profile(b"CMYK", lambda c, m, y, k: ((1 - y) * (1 - k), (1 - m) * (1 - k), (1 - c) * (1 - k)))
# A grey profile whose greys are sepia (white shows as a warm 255, 200, 140): not a grey, so looked up per band.
SEPIA = lut_profile(b"GRAY", lambda level: (level, level * 0.578, level * 0.262))
# Each quadrant of an 8 x 8 photo: cyan, magenta and yellow ink alone, then half black.
INKS = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 128)]


def cmyk_quadrants(dtype=np.uint8) -> np.ndarray:
    """A 16 x 16 CMYK photo of INKS' four quadrants (left to right, top to bottom), 16-bit values if `dtype` says."""
    pixels = np.zeros((16, 16, 4), dtype)
    for i, ink in enumerate(INKS):
        top, left = 8 * (i // 2), 8 * (i % 2)
        pixels[top:top + 8, left:left + 8] = np.array(ink) * (257 if dtype == np.uint16 else 1)
    return pixels


def cmyk_tiff(bits: int = 16, extra: int | None = None) -> bytes:
    """cmyk_quadrants as an uncompressed CMYK TIFF written by hand, of 16 bits a channel (Photoshop's; Pillow writes
    none) or 8, with a fifth channel of kind `extra` if given (TIFF's ExtraSamples: 1 premultiplied alpha, 2 alpha)."""
    import struct

    pixels = cmyk_quadrants(np.uint16 if bits == 16 else np.uint8)
    if extra is not None:
        pixels = np.dstack([pixels, np.full(pixels.shape[:2], 255 * (257 if bits == 16 else 1), pixels.dtype)])
    data, channels = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes(), pixels.shape[-1]
    bits_at = 8 + len(data)
    tags = [(256, 4, 16), (257, 4, 16), (258, 3, bits_at), (259, 3, 1), (262, 3, 5), (273, 4, 8), (277, 3, channels),
            (278, 4, 16), (279, 4, len(data)), (284, 3, 1)] + ([(338, 3, extra)] if extra is not None else [])
    directory = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHI", tag, kind, channels if tag == 258 else 1)
        + (struct.pack("<I", value) if kind == 4 or tag == 258 else struct.pack("<HH", value, 0))
        for tag, kind, value in tags) + bytes(4)
    return (b"II*\0" + struct.pack("<I", bits_at + 2 * channels + 2) + data
            + struct.pack(f"<{channels}H", *[bits] * channels) + bytes(2) + directory)


def quadrant_centres(decoded: np.ndarray) -> list[tuple[int, ...]]:
    """The colour at the centre of each quadrant of a decoded photo, left to right, top to bottom."""
    h, w = decoded.shape[:2]
    return [tuple(int(v) for v in decoded[h // 4 + h // 2 * (i // 2), w // 4 + w // 2 * (i % 2)]) for i in range(4)]


def test_a_grey_profile_whose_greys_are_coloured_is_applied_as_its_transform_gives_each_band_shrunk(monkeypatch):
    # Correct before, but converted to RGB at full size (4 bytes a pixel), then shrunk: now its three bands are looked
    # up and shrunk as grey, the same pixels. With alpha, the sepia goes onto white, as any cut-out.
    from PIL import ImageCms

    from conftest import colour_conversions

    grey = Image.fromarray(_few_levels(120, 90))
    sepia = ImageCms.applyTransform(grey, ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(SEPIA)),
                                                                  ImageCms.createProfile("sRGB"), "L", "RGB"))
    assert np.asarray(sepia)[45, 60].tolist() != [np.asarray(grey)[45, 60]] * 3  # the profile does colour it
    data = _png(grey, icc_profile=SEPIA)
    assert np.array_equal(decode_image(data), np.asarray(sepia))
    converted = colour_conversions(monkeypatch)
    for size in (32, (37, 23)):
        width, height = (size, size) if isinstance(size, int) else size
        expected = sepia.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
        assert np.array_equal(load_resized(data, size), np.asarray(expected)), size
    assert set(converted) == {(256, 1)}, converted  # its 256 levels, never its pixels
    alpha = Image.fromarray(np.tile(np.arange(0, 240, 2, dtype=np.uint8), (90, 1)))
    cut_out = Image.merge("RGBA", [*sepia.split(), alpha])
    onto_white = Image.alpha_composite(Image.new("RGBA", cut_out.size, (255,) * 4), cut_out).convert("RGB")
    cut_out_file = _png(Image.merge("LA", [grey, alpha]), icc_profile=SEPIA)
    assert np.array_equal(decode_image(cut_out_file), np.asarray(onto_white))


def _cut_outs() -> dict[str, Image.Image]:
    """A 90 x 70 cut-out in each mode that goes onto white as grey: grey with alpha, a palette with a tRNS of several
    alphas (colour and grey), a GIF's one see-through index, a palette with alpha (PA, as Pillow holds one), and a
    64 x 48 grey whose one colour is see-through (a tRNS key)."""
    levels = _few_levels(90, 70)
    alpha = np.zeros((70, 90), np.uint8)
    alpha[:, 30:] = np.tile(np.arange(0, 256, 4, dtype=np.uint8)[:60], (70, 1))
    alpha[:, 80:] = 255
    colours = [int(v) for v in np.random.default_rng(8).integers(0, 256, 768)]
    greys = [v for level in np.random.default_rng(9).integers(0, 256, 256) for v in (int(level),) * 3]
    alphas = bytes(np.random.default_rng(10).integers(0, 256, 200).astype(np.uint8))  # the indices past it opaque
    photos = {"LA": Image.open(io.BytesIO(_png(Image.merge("LA", [Image.fromarray(levels), Image.fromarray(alpha)]))))}
    for name, palette in (("P colour", colours), ("P grey", greys)):
        photos[name] = Image.open(io.BytesIO(_png(_palette_photo(levels, palette), transparency=alphas)))
    gif = io.BytesIO()
    _palette_photo(levels, colours).save(gif, format="GIF", transparency=7)
    photos["GIF"] = Image.open(gif)
    photos["PA"] = Image.merge("PA", [Image.fromarray(levels), Image.fromarray(alpha)])
    photos["PA"].putpalette(colours[:300])  # a short palette: the indices past it black
    photos["L key"] = Image.open(io.BytesIO(_keyed("L")))  # a grey whose black is see-through (tRNS)
    return photos


CUT_OUTS = _cut_outs()


@pytest.mark.parametrize("name", CUT_OUTS)
def test_a_grey_or_palette_cut_out_goes_onto_white_as_grey_never_made_rgba_at_full_size(name, monkeypatch):
    # Was: made RGBA, composited onto an RGBA white and made RGB, all at full size, then shrunk (a 40 MP grey cut-out's
    # 224 px: +457 MB at the peak, now +76 MB, 4x faster; a palette's +114 MB, 2x faster).
    from glr.data.pixel_modes import to_rgb

    photo = CUT_OUTS[name]
    photo.load()
    assert photo.mode in ("LA", "PA") or "transparency" in photo.info
    converted = _counted_conversions(monkeypatch)
    monkeypatch.setattr(Image, "alpha_composite", lambda *images: pytest.fail("composited as RGBA"))
    to_rgb(photo.copy(), lambda im: im.resize((32, 32), Image.Resampling.BILINEAR, reducing_gap=2.0))
    assert all(size == (32, 32) for _, mode, size in converted if mode != "L"), converted  # (a keyed grey's copy)


@pytest.mark.parametrize("name", CUT_OUTS)
def test_a_grey_or_palette_cut_out_onto_white_as_grey_has_the_pixels_of_its_rgba_composited_then_shrunk(name):
    # Training's features are cached by the photo, not by how it was decoded: the pixels must not move by one level.
    from PIL import ImageOps

    from glr.data.pixel_modes import to_rgb

    photo = CUT_OUTS[name]
    rgba = photo.convert("RGBA")
    shown = Image.alpha_composite(Image.new("RGBA", rgba.size, (255,) * 4), rgba).convert("RGB")
    for shrink in (lambda im: im.resize((32, 32), Image.Resampling.BILINEAR, reducing_gap=2.0),
                   lambda im: im.resize((200, 150), Image.Resampling.BILINEAR, reducing_gap=2.0),  # enlarged
                   lambda im: ImageOps.fit(im, (24, 24)), lambda im: im.resize((45, 33), Image.Resampling.LANCZOS)):
        assert np.array_equal(to_rgb(photo.copy(), shrink), np.asarray(shrink(shown.copy())))


def test_white_through_a_see_through_share_rounds_as_alpha_composite_for_every_value_and_alpha():
    # The grey way onto white (white pasted through 255 - alpha) must round as Pillow's alpha_composite, which RGBA
    # cut-outs still take: every pair of value and alpha, so a Pillow that rounds otherwise shows here.
    from glr.data.pixel_modes import plain_rgb

    values, alphas = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    rgba = Image.fromarray(np.dstack([values, values, values, alphas]), "RGBA")
    expected = Image.alpha_composite(Image.new("RGBA", rgba.size, (255,) * 4), rgba).convert("RGB")
    grey = Image.merge("LA", [Image.fromarray(values), Image.fromarray(alphas)])
    assert np.array_equal(plain_rgb(grey, lambda im: im, before_white=False), np.asarray(expected))


def test_predict_py_sees_a_grey_or_cmyk_photo_with_its_profile_and_a_grey_cut_out_as_glr_does(tmp_path):
    # predict.py pastes to_rgb and plain_rgb (glr.export_script): the same model input, with nothing it lacks.
    from glr.predict import eval_view
    from test_export import template_script

    script = template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    levels = Image.fromarray(_few_levels(90, 70))
    tiff = io.BytesIO()
    Image.fromarray(cmyk_quadrants(), "CMYK").save(tiff, "TIFF", icc_profile=SWAPPED_INKS)
    photos = {"sepia.png": _png(levels, icc_profile=SEPIA), "cmyk.tif": tiff.getvalue(),
              "grey16.png": _png(Image.fromarray(_sixteen_bit_ramp(90, 70)), icc_profile=grey_profile(1.0)),
              "keyed.png": _png(levels, icc_profile=grey_profile(1.0), transparency=0)}
    for name in ("LA", "P colour", "GIF"):
        buffer = io.BytesIO()
        CUT_OUTS[name].save(buffer, "PNG")
        photos[f"{name}.png"] = buffer.getvalue()
    for name, data in photos.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert np.abs(script.eval_view(path)[0] - eval_view(path, 32)).max() <= 1, name
