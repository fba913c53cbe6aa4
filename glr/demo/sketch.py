"""The demo landmarks' vocabulary: a landmark class, its colours and patterns, and a canvas.

`LandmarkClass` describes a landmark (family, variant, colours, pattern, design seed);
`Sketch` is a transparent canvas in structure units with the primitives the family
drawers in `glr.demo.buildings` and `glr.demo.monuments` build a landmark from (blocks,
columns, domes, windows, arches, eaves, figures). `shade` and `mix` are the colour
helpers the drawers and `glr.demo.scenes` share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw

# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------

CATEGORY_URL = "http://commons.wikimedia.org/wiki/Category:"

# The structure families. Classes cycle through them, so 100 classes = 18 families with
# 5-6 variants each; variants differ in proportions, colours, roof, tiers and patterns.
FAMILIES = (
    "tower", "dome", "arch", "pyramid", "bridge", "pagoda", "temple", "skyscraper",
    "obelisk", "lighthouse", "castle", "windmill", "statue", "minaret", "lattice", "torii",
    "wheel", "amphitheatre",
)

# Building materials for a landmark's main body, and brighter accent colours for roofs,
# bands and ornaments. Within a family no two classes share a main colour.
MATERIALS = (
    (232, 228, 218),  # white marble
    (214, 182, 128),  # sandstone
    (158, 64, 48),    # red brick
    (124, 126, 132),  # grey granite
    (200, 108, 64),   # terracotta
    (62, 62, 70),     # basalt
    (88, 158, 136),   # copper patina
    (206, 166, 58),   # gilded
    (52, 86, 168),    # cobalt tile
    (198, 136, 146),  # rose granite
    (186, 30, 38),    # lacquer red
    (242, 232, 196),  # ivory
    (92, 108, 146),   # slate blue
    (52, 128, 150),   # teal glass
    (44, 120, 74),    # jade
    (112, 72, 132),   # amethyst
)
ACCENTS = (
    (30, 110, 70), (190, 40, 40), (230, 190, 60), (40, 70, 160), (40, 40, 44),
    (90, 170, 150), (240, 240, 240), (150, 60, 150), (230, 120, 40), (110, 70, 40),
    (60, 160, 210), (170, 20, 80),
)
WINDOW = (34, 38, 48)  # dark glass and openings
GOLD = (228, 186, 70)

WINDOW_STYLES = ("rect", "arch", "round", "slit", "band")

# Surface patterns (tiles, brickwork, painted bands...), in units of one pattern period.
# ImageNet CNNs are very sensitive to texture, so a class's pattern is one of the main
# things that tells it from the other variants of its family.
PATTERNS = {
    "plain": None,
    "stripes": lambda u, v: (v % 1) < 0.35,
    "pinstripes": lambda u, v: (u % 1) < 0.3,
    "checker": lambda u, v: (np.floor(u) + np.floor(v)) % 2 == 0,
    "diamonds": lambda u, v: np.abs(u % 1 - 0.5) + np.abs(v % 1 - 0.5) < 0.28,
    "dots": lambda u, v: (u % 1 - 0.5) ** 2 + (v % 1 - 0.5) ** 2 < 0.07,
    "bricks": lambda u, v: ((2 * v) % 1 < 0.18) | ((u + 0.5 * np.floor(2 * v)) % 1 < 0.1),
    "chevrons": lambda u, v: (v + np.abs(u % 1 - 0.5)) % 1 < 0.35,
    "diagonals": lambda u, v: (u + v) % 1 < 0.3,
}
PATTERN_PERIOD = 0.045  # structure units (the landmark is about 1 unit tall)


# ---------------------------------------------------------------------------------------
# A landmark class
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandmarkClass:
    """One demo landmark: its GLDv2 id and name, and what the drawing code needs."""

    index: int          # position in the class list (0..n_classes-1)
    landmark_id: int    # sparse GLDv2-style id
    name: str           # readable name, e.g. "Tower of Aldmere"
    family: str         # one of FAMILIES
    variant: int        # which variant of its family; drives the big shape choices
    main: tuple         # RGB of the main body
    accent: tuple       # RGB of roofs, bands, ornaments
    pattern: str        # surface pattern of the main body, a key of PATTERNS
    design_seed: int    # seeds the class's proportions, identical in every photo

    @property
    def category(self) -> str:
        """The Wikimedia-style category URL of train_label_to_category.csv."""
        return CATEGORY_URL + quote(self.name.replace(" ", "_"), safe="_-(),.'")


# ---------------------------------------------------------------------------------------
# Drawing a structure
# ---------------------------------------------------------------------------------------


def shade(color, k: float) -> tuple:
    """`color` made darker (k < 1) or brighter (k > 1), clipped to 0..255."""
    return tuple(int(min(255, max(0, c * k))) for c in color)


def mix(a, b, t: float) -> tuple:
    """The colour a fraction `t` of the way from `a` to `b`."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


HOLE = (0, 0, 0, 0)  # "paint" transparency: an arch opening shows the scene behind


def arc(cx, cy, rx, ry, a0, a1, n=20):
    """Points along an ellipse from angle a0 to a1 (degrees, counter-clockwise)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


class Sketch:
    """A transparent canvas in structure units: x from -1 to 1, y from 0 (ground) up to 1.

    Drawing functions describe a landmark in these units, so the same description renders
    at any resolution. Curved parts (columns, domes, cones) get a shading that is light on
    the left and dark on the right, which is what makes them read as 3-D to a CNN. Every
    surface painted in the class's main colour gets the class's pattern.
    """

    def __init__(self, height: int, cls: LandmarkClass):
        self.image = Image.new("RGBA", (2 * height, height), HOLE)
        self.draw = ImageDraw.Draw(self.image)
        self.unit = 0.96 * height
        self.cx = float(height)
        self.ground = height - 1.0
        self.main = tuple(cls.main)
        self.pattern = PATTERNS[cls.pattern]
        self.ink = np.asarray(mix(cls.main, cls.accent, 0.75), np.float32)

    def xy(self, x, y):
        """Pixel coordinates of the structure point (x, y)."""
        return (self.cx + x * self.unit, self.ground - y * self.unit)

    def poly(self, points, color):
        """Fill a flat polygon; in the main colour it carries the class pattern."""
        if tuple(color) == self.main and self.pattern is not None:
            self._paint(points, color, curved=False)
            return
        fill = color if len(color) == 4 else tuple(color) + (255,)
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=fill)

    def rect(self, x0, y0, x1, y1, color):
        """Fill an axis-aligned rectangle."""
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color)

    def ellipse(self, cx, cy, rx, ry, color):
        """Fill an ellipse."""
        self.poly(arc(cx, cy, rx, ry, 0, 360, 28), color)

    def line(self, points, color, width):
        """Draw a polyline `width` structure units wide."""
        self.draw.line([self.xy(x, y) for x, y in points], fill=tuple(color) + (255,),
                       width=max(1, int(round(width * self.unit))))

    def shaded(self, points, color, vertical=0.0):
        """Fill a polygon as a curved surface lit from the left (and from above if vertical>0)."""
        self._paint(points, color, curved=True, vertical=vertical)

    def _paint(self, points, color, curved, vertical=0.0):
        """Fill a polygon pixel by pixel: the class pattern, then the shading, through a mask."""
        pts = [self.xy(x, y) for x, y in points]
        x0 = int(math.floor(min(p[0] for p in pts)))
        y0 = int(math.floor(min(p[1] for p in pts)))
        w = int(math.ceil(max(p[0] for p in pts))) - x0 + 1
        h = int(math.ceil(max(p[1] for p in pts))) - y0 + 1
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in pts], fill=255)
        rgb = np.empty((h, w, 3), np.float32)
        rgb[:] = color
        if tuple(color) == self.main and self.pattern is not None:
            # The pattern lives in structure units, so it scales with the landmark.
            u = (np.arange(x0, x0 + w) - self.cx) / (self.unit * PATTERN_PERIOD)
            v = (self.ground - np.arange(y0, y0 + h)) / (self.unit * PATTERN_PERIOD)
            rgb[np.broadcast_to(self.pattern(u[None, :], v[:, None]), (h, w))] = self.ink
        if curved:
            t = np.linspace(0.0, 1.0, w)
            k = 0.72 + 0.4 * np.cos((t - 0.3) * 0.95 * np.pi)          # cylinder profile
            k = k[None, :] * (1.0 + vertical * (0.5 - np.linspace(0.0, 1.0, h)))[:, None]
            rgb *= k[..., None]
        tile = np.empty((h, w, 4), np.uint8)
        tile[..., :3] = np.clip(rgb, 0, 255)
        tile[..., 3] = 255
        self.image.paste(Image.fromarray(tile, "RGBA"), (x0, y0), mask)

    # -- building blocks shared by the families ------------------------------------------

    def block(self, x0, y0, x1, y1, color, side=0.0):
        """A flat-fronted mass; `side` adds a darker receding face on the right."""
        self.rect(x0, y0, x1, y1, color)
        if side:
            self.poly([(x1, y0), (x1 + side, y0 + side * 0.3), (x1 + side, y1 + side * 0.3), (x1, y1)],
                      shade(color, 0.62))

    def column(self, x0, y0, x1, y1, color, top=0.0):
        """A round shaft; `top` < 1 tapers it (lighthouses, obelisk-like shafts)."""
        inset = (x1 - x0) * (1 - top) / 2 if top else 0.0
        self.shaded([(x0, y0), (x1, y0), (x1 - inset, y1), (x0 + inset, y1)], color)

    def dome(self, cx, y, rx, ry, color):
        """A half-ellipse dome standing on height `y`."""
        self.shaded(arc(cx, y, rx, ry, 0, 180), color, vertical=0.4)

    def onion(self, cx, y, r, h, color):
        """An onion dome: a bulb `h` tall that narrows to a point."""
        t = np.linspace(0.0, 1.0, 14)
        radius = r * (1 - t) ** 1.6 * (0.75 + 2.4 * t)  # a bulb that narrows to a point
        right = list(zip(cx + radius, y + h * t))
        left = list(zip(cx - radius[::-1], y + h * t[::-1]))
        self.shaded(right + left, color, vertical=0.3)

    def cone(self, cx, y, r, h, color):
        """A cone (spire, conical roof) `h` tall on a base of radius `r`."""
        self.shaded([(cx - r, y), (cx + r, y), (cx, y + h)], color)

    def crenels(self, x0, x1, y, h, n, color):
        """Battlements: n merlons with gaps between them."""
        step = (x1 - x0) / (n - 0.45)
        for i in range(n):
            self.rect(x0 + i * step, y, x0 + i * step + 0.55 * step, y + h, color)

    def windows(self, x0, y0, x1, y1, rows, cols, style, color=WINDOW):
        """A grid of openings in one of WINDOW_STYLES."""
        cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
        for i in range(rows):
            cy = y0 + (i + 0.5) * ch
            if style == "band":
                self.rect(x0 + 0.1 * cw, cy - 0.22 * ch, x1 - 0.1 * cw, cy + 0.22 * ch, color)
                continue
            for j in range(cols):
                cx, ww, wh = x0 + (j + 0.5) * cw, 0.5 * cw, 0.6 * ch
                if style == "rect":
                    self.rect(cx - ww / 2, cy - wh / 2, cx + ww / 2, cy + wh / 2, color)
                elif style == "arch":
                    self.rect(cx - ww / 2, cy - wh / 2, cx + ww / 2, cy + wh / 2 - ww / 2, color)
                    self.poly(arc(cx, cy + wh / 2 - ww / 2, ww / 2, ww / 2, 0, 180, 10), color)
                elif style == "round":
                    r = min(ww, wh) / 2
                    self.ellipse(cx, cy, r, r, color)
                else:  # slit
                    self.rect(cx - ww / 6, cy - wh / 2, cx + ww / 6, cy + wh / 2, color)

    def arch_opening(self, cx, y0, half, h, color=HOLE):
        """A round-topped opening (gate, bridge arch) `h` high to the crown."""
        spring = y0 + max(h - half, 0.0)
        self.poly([(cx - half, y0), (cx + half, y0)] + arc(cx, spring, half, min(half, h), 0, 180, 16),
                  color)

    def eave(self, x0, x1, y, h, overhang, color):
        """An East-Asian roof: wide eaves whose tips curve upwards."""
        self.shaded([(x0 - overhang, y + 0.45 * h), (x0 - 0.2 * overhang, y), (x1 + 0.2 * overhang, y),
                     (x1 + overhang, y + 0.45 * h), (x1 - 0.1 * (x1 - x0), y + h),
                     (x0 + 0.1 * (x1 - x0), y + h)], color)

    def humanoid(self, cx, y, h, color, pose):
        """A standing figure, `h` tall, for statues; pose is 'torch', 'wide' or 'sword'."""
        w = h * 0.16
        self.shaded([(cx - w * 1.3, y), (cx + w * 1.3, y), (cx + w, y + h * 0.72),
                     (cx - w, y + h * 0.72)], color)                                   # robe
        self.ellipse(cx, y + h * 0.82, w * 0.65, w * 0.75, shade(color, 1.05))       # head
        shoulder = (y + h * 0.68)
        if pose == "torch":
            self.line([(cx + w, shoulder), (cx + w * 1.4, y + h * 1.05)], color, w * 0.55)
            self.cone(cx + w * 1.45, y + h * 1.05, w * 0.45, h * 0.16, GOLD)
            self.line([(cx - w, shoulder), (cx - w * 1.5, y + h * 0.4)], color, w * 0.5)
        elif pose == "wide":
            self.line([(cx - w, shoulder), (cx - w * 3.2, y + h * 0.85)], color, w * 0.5)
            self.line([(cx + w, shoulder), (cx + w * 3.2, y + h * 0.85)], color, w * 0.5)
        else:  # sword raised
            self.line([(cx + w, shoulder), (cx + w * 2.0, y + h * 0.9)], color, w * 0.5)
            self.line([(cx + w * 2.0, y + h * 0.9), (cx + w * 2.2, y + h * 1.35)], (200, 200, 210), w * 0.2)
            self.line([(cx - w, shoulder), (cx - w * 1.6, y + h * 0.35)], color, w * 0.5)
