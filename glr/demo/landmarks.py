"""Drawing the demo landmarks: one procedurally drawn structure per class, no photo around it.

`LandmarkClass` describes a landmark (family, variant, colours, pattern, design seed);
`draw_landmark` draws it alone on a transparent layer, in structure units that render at
any resolution. The scene around it (sky, ground, weather, camera) is `glr.demo.scenes`';
the class catalogue and the dataset on disk are `glr.demo.dataset`'s.
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


def _shade(color, k: float) -> tuple:
    return tuple(int(min(255, max(0, c * k))) for c in color)


def _mix(a, b, t: float) -> tuple:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


HOLE = (0, 0, 0, 0)  # "paint" transparency: an arch opening shows the scene behind


def _arc(cx, cy, rx, ry, a0, a1, n=20):
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
        self.ink = np.asarray(_mix(cls.main, cls.accent, 0.75), np.float32)

    def xy(self, x, y):
        return (self.cx + x * self.unit, self.ground - y * self.unit)

    def poly(self, points, color):
        if tuple(color) == self.main and self.pattern is not None:
            self._paint(points, color, curved=False)
            return
        fill = color if len(color) == 4 else tuple(color) + (255,)
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=fill)

    def rect(self, x0, y0, x1, y1, color):
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color)

    def ellipse(self, cx, cy, rx, ry, color):
        self.poly(_arc(cx, cy, rx, ry, 0, 360, 28), color)

    def line(self, points, color, width):
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
                      _shade(color, 0.62))

    def column(self, x0, y0, x1, y1, color, top=0.0):
        """A round shaft; `top` < 1 tapers it (lighthouses, obelisk-like shafts)."""
        inset = (x1 - x0) * (1 - top) / 2 if top else 0.0
        self.shaded([(x0, y0), (x1, y0), (x1 - inset, y1), (x0 + inset, y1)], color)

    def dome(self, cx, y, rx, ry, color):
        self.shaded(_arc(cx, y, rx, ry, 0, 180), color, vertical=0.4)

    def onion(self, cx, y, r, h, color):
        t = np.linspace(0.0, 1.0, 14)
        radius = r * (1 - t) ** 1.6 * (0.75 + 2.4 * t)  # a bulb that narrows to a point
        right = list(zip(cx + radius, y + h * t))
        left = list(zip(cx - radius[::-1], y + h * t[::-1]))
        self.shaded(right + left, color, vertical=0.3)

    def cone(self, cx, y, r, h, color):
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
                    self.poly(_arc(cx, cy + wh / 2 - ww / 2, ww / 2, ww / 2, 0, 180, 10), color)
                elif style == "round":
                    r = min(ww, wh) / 2
                    self.ellipse(cx, cy, r, r, color)
                else:  # slit
                    self.rect(cx - ww / 6, cy - wh / 2, cx + ww / 6, cy + wh / 2, color)

    def arch_opening(self, cx, y0, half, h, color=HOLE):
        """A round-topped opening (gate, bridge arch) `h` high to the crown."""
        spring = y0 + max(h - half, 0.0)
        self.poly([(cx - half, y0), (cx + half, y0)] + _arc(cx, spring, half, min(half, h), 0, 180, 16),
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
        self.ellipse(cx, y + h * 0.82, w * 0.65, w * 0.75, _shade(color, 1.05))       # head
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


# One drawing function per family. Each takes the sketch, the class, and two generators:
# `r` (seeded by the class: identical in every photo, so the landmark stays the same) and
# `photo` (seeded by the photo, for what really changes between photos, like a windmill's
# sails). Big discrete choices come from `c.variant`, so variants of a family differ in
# shape, not only in colour.


def _draw_tower(sk, c, r, photo):
    w, h = r.uniform(0.08, 0.13), r.uniform(0.5, 0.68)
    stages = 2 + c.variant % 3
    style = WINDOW_STYLES[r.integers(len(WINDOW_STYLES))]
    sk.block(-w, 0, w, h, c.main, side=w * 0.3)
    stage_h = h / stages
    for i in range(stages):
        y0 = i * stage_h
        sk.rect(-w * 1.1, y0 + stage_h - 0.008, w * 1.1, y0 + stage_h + 0.008, _shade(c.main, 0.75))
        if i < stages - 1:
            sk.windows(-w * 0.8, y0 + 0.15 * stage_h, w * 0.8, y0 + 0.9 * stage_h, 2, 2, style)
    top = (stages - 0.5) * stage_h
    if c.variant % 2 == 0:  # a clock face in the top stage
        sk.ellipse(0, top, w * 0.62, w * 0.62, c.accent)
        sk.ellipse(0, top, w * 0.5, w * 0.5, (240, 236, 220))
        sk.line([(0, top), (0, top + w * 0.4)], WINDOW, 0.006)
        sk.line([(0, top), (w * 0.3, top)], WINDOW, 0.006)
    else:                   # belfry openings
        sk.windows(-w * 0.85, top - stage_h * 0.35, w * 0.85, top + stage_h * 0.35, 1, 2, "arch")
    roof = c.variant % 5
    if roof == 0:
        sk.cone(0, h, w * 1.1, r.uniform(0.2, 0.3), c.accent)
    elif roof == 1:
        sk.cone(0, h, w * 1.2, w * 1.1, c.accent)
    elif roof == 2:
        sk.crenels(-w * 1.1, w * 1.1, h, 0.04, 4, c.main)
        sk.line([(0, h), (0, h + 0.14)], WINDOW, 0.006)
        sk.poly([(0, h + 0.14), (0.07, h + 0.12), (0, h + 0.1)], c.accent)
    elif roof == 3:
        sk.dome(0, h, w, w * 1.2, c.accent)
        sk.column(-w * 0.2, h + w * 1.1, w * 0.2, h + w * 1.6, c.accent)
    else:
        sk.onion(0, h, w * 1.15, w * 2.4, c.accent)


def _draw_dome(sk, c, r, photo):
    bw, bh = r.uniform(0.45, 0.7), r.uniform(0.18, 0.28)
    sk.block(-bw, 0, bw, bh, c.main, side=0.04)
    sk.windows(-bw * 0.9, bh * 0.1, bw * 0.9, bh * 0.9, 2, int(bw * 16), "arch")
    if c.variant % 4 >= 2:  # a columned portico in front
        pw = bw * 0.35
        sk.rect(-pw, 0, pw, bh * 1.25, _shade(c.main, 0.5))
        for x in np.linspace(-pw * 0.85, pw * 0.85, 6):
            sk.column(x - 0.018, 0, x + 0.018, bh * 1.1, _shade(c.main, 1.1))
        sk.poly([(-pw * 1.1, bh * 1.1), (pw * 1.1, bh * 1.1), (0, bh * 1.1 + 0.1)], c.main)
    dw, dh = r.uniform(0.17, 0.26), r.uniform(0.09, 0.15)
    sk.column(-dw, bh, dw, bh + dh, c.main)
    sk.windows(-dw * 0.9, bh + dh * 0.15, dw * 0.9, bh + dh * 0.85, 1, 6, "slit")
    shape, y = c.variant % 3, bh + dh
    if shape == 0:
        sk.dome(0, y, dw * 1.05, dw, c.accent)
        top = y + dw
    elif shape == 1:
        sk.dome(0, y, dw * 1.05, dw * 1.5, c.accent)
        top = y + dw * 1.5
    else:
        sk.onion(0, y, dw * 1.1, dw * 2.0, c.accent)
        top = y + dw * 1.6
    if r.random() < 0.6:  # ribs
        for a in (50, 75, 105, 130):
            sk.line([(0, top), (dw * math.cos(math.radians(a)), y)], _shade(c.accent, 0.7), 0.005)
    sk.column(-0.03, top, 0.03, top + 0.07, c.main)
    sk.cone(0, top + 0.07, 0.035, 0.05, GOLD)
    if c.variant % 2:  # twin bell towers at the corners
        for x in (-bw + 0.06, bw - 0.06):
            sk.block(x - 0.05, bh, x + 0.05, bh + 0.22, c.main)
            sk.dome(x, bh + 0.22, 0.05, 0.06, c.accent)


def _draw_arch(sk, c, r, photo):
    hw, h = r.uniform(0.3, 0.45), r.uniform(0.42, 0.6)
    sk.block(-hw, 0, hw, h, c.main, side=0.05)
    ah = r.uniform(0.08, 0.14)  # the attic storey on top
    sk.block(-hw * 0.96, h, hw * 0.96, h + ah, _shade(c.main, 0.92), side=0.05)
    sk.rect(-hw * 0.5, h + ah * 0.3, hw * 0.5, h + ah * 0.7, c.accent)  # inscription panel
    sk.rect(-hw, h - 0.05, hw, h - 0.02, c.accent)                       # frieze
    if c.variant % 2 == 0:   # one great opening
        sk.arch_opening(0, 0, hw * 0.32, h * 0.72)
        pillars = (-hw * 0.7, -hw * 0.5, hw * 0.5, hw * 0.7)
    else:                    # three openings
        sk.arch_opening(0, 0, hw * 0.22, h * 0.7)
        sk.arch_opening(-hw * 0.62, 0, hw * 0.13, h * 0.45)
        sk.arch_opening(hw * 0.62, 0, hw * 0.13, h * 0.45)
        pillars = (-hw * 0.88, -hw * 0.36, hw * 0.36, hw * 0.88)
    for x in pillars:
        sk.column(x - 0.02, 0.02, x + 0.02, h - 0.06, _shade(c.main, 1.08))
    if c.variant % 3 == 0:   # a bronze chariot group on top
        sk.shaded([(-hw * 0.35, h + ah), (hw * 0.35, h + ah), (hw * 0.25, h + ah + 0.08),
                   (0, h + ah + 0.13), (-hw * 0.25, h + ah + 0.08)], (70, 110, 90))
    if c.variant % 4 >= 2:   # statues stand on the corners of the attic
        for x in (-hw * 0.85, hw * 0.85):
            sk.humanoid(x, h + ah, 0.1, (225, 222, 210), "wide")


def _draw_pyramid(sk, c, r, photo):
    hw = r.uniform(0.45, 0.7)
    h = min(0.85, hw * r.uniform(0.65, 1.0))
    kind, extra = c.variant % 3, c.variant % 4
    if extra == 2:  # a smaller queen's pyramid beside it, drawn first so it stands behind
        q = hw * 0.45
        sk.poly([(hw * 0.5, 0), (hw * 0.5 + 2 * q, 0), (hw * 0.5 + q, q * 1.1)], _shade(c.main, 0.8))
    if kind == 0:  # smooth faces, seen from a corner: one lit face, one in shade
        edge, apex = r.uniform(-0.2, 0.3) * hw, r.uniform(-0.1, 0.1) * hw
        sk.poly([(-hw, 0), (edge, 0), (apex, h)], c.main)
        sk.poly([(edge, 0), (hw, 0), (apex, h)], _shade(c.main, 0.6))
        for f in np.linspace(0.1, 0.9, 9):  # courses of stone
            sk.line([(-hw + (apex + hw) * f, h * f), (hw + (apex - hw) * f, h * f)], _shade(c.main, 0.8), 0.003)
        if extra == 1:  # a gilded capstone
            sk.poly([(apex - hw * 0.12, h * 0.88), (apex + hw * 0.12, h * 0.88), (apex, h)], GOLD)
    else:
        tiers = int(r.integers(4, 8))
        for i in range(tiers):
            f = 1 - i / tiers
            y0, y1 = h * i / tiers, h * (i + 1) / tiers
            sk.block(-hw * f, y0, hw * f, y1, c.main)
            sk.rect(-hw * f, y0, hw * f, y0 + (y1 - y0) * 0.25, _shade(c.main, 0.7))
        if kind == 2:  # a Mesoamerican pyramid: central stair and a shrine on top
            sk.poly([(-hw * 0.14, 0), (hw * 0.14, 0), (hw * 0.08, h), (-hw * 0.08, h)], _shade(c.main, 1.15))
            for f in np.linspace(0.03, 0.97, 14):
                sk.line([(-hw * (0.14 - 0.06 * f), h * f), (hw * (0.14 - 0.06 * f), h * f)], _shade(c.main, 0.7), 0.003)
            sk.block(-hw * 0.18, h, hw * 0.18, h + 0.1, c.accent)
            sk.rect(-hw * 0.05, h, hw * 0.05, h + 0.06, WINDOW)
        elif extra == 1:
            sk.block(-hw * 0.1, h, hw * 0.1, h + 0.05, GOLD)
    if extra == 3:  # a pair of obelisks guards the approach
        for x in (-hw - 0.08, hw + 0.08):
            sk.poly([(x - 0.025, 0), (x + 0.025, 0), (x + 0.016, 0.3), (x - 0.016, 0.3)], c.accent)
            sk.poly([(x - 0.016, 0.3), (x + 0.016, 0.3), (x, 0.34)], GOLD)


def _draw_bridge(sk, c, r, photo):
    end = 0.8  # the bridge runs from -end to +end: long, but still fills a photo's height
    deck = r.uniform(0.14, 0.22)
    kind = c.variant % 5
    sk.rect(-end, deck, end, deck + 0.04, c.main)
    if c.variant % 2:  # ornate lamp posts along the parapet
        for x in np.linspace(-end * 0.95, end * 0.95, 9):
            sk.line([(x, deck + 0.04), (x, deck + 0.11)], (40, 40, 40), 0.005)
            sk.ellipse(x, deck + 0.12, 0.012, 0.012, (250, 230, 160))
    if kind == 0:  # suspension: two portal towers carry the main cables
        tx, th = end * r.uniform(0.45, 0.6), r.uniform(0.6, 0.8)
        for x in (-tx, tx):
            if (c.variant // 5) % 2:  # masonry towers with pointed roofs
                sk.block(x - 0.07, 0, x + 0.07, th - 0.08, c.main, side=0.02)
                sk.windows(x - 0.05, deck + 0.06, x + 0.05, th - 0.1, 3, 2, "arch")
                sk.cone(x, th - 0.08, 0.08, 0.12, c.accent)
                continue
            sk.column(x - 0.06, 0, x - 0.025, th, c.main)  # steel portal towers
            sk.column(x + 0.025, 0, x + 0.06, th, c.main)
            for y in (deck + 0.04, th * 0.6, th - 0.04):
                sk.rect(x - 0.06, y - 0.018, x + 0.06, y + 0.018, c.main)
        xs = np.linspace(-tx, tx, 30)  # the main cables sag between the towers...
        sag = deck + 0.06 + (th - deck - 0.06) * (xs / tx) ** 2
        sk.line(list(zip(xs, sag)), c.accent, 0.008)
        sk.line([(-end, deck + 0.05), (-tx, th)], c.accent, 0.008)
        sk.line([(end, deck + 0.05), (tx, th)], c.accent, 0.008)
        for x, y in zip(xs[::2], sag[::2]):  # ...and hangers drop from them to the deck
            sk.line([(x, deck + 0.04), (x, y)], c.accent, 0.003)
    elif kind == 1:  # stone arches carry the deck
        n = int(r.integers(3, 6))
        sk.rect(-end, 0, end, deck + 0.04, c.main)
        for x in np.linspace(-end, end, n + 1)[:-1] + end / n:
            sk.arch_opening(x, 0, 0.75 * end / n, deck * 0.8)
        sk.rect(-end, deck + 0.04, end, deck + 0.06, c.accent)  # parapet
    elif kind == 2:  # one steel arch over the deck, hangers below it
        span, rise = end * r.uniform(0.7, 0.95), r.uniform(0.3, 0.45)
        pts = _arc(0, deck, span, rise, 0, 180, 30)
        sk.line(pts, c.accent, 0.022)
        for x, y in pts[3:-3:2]:
            sk.line([(x, deck + 0.04), (x, y)], c.accent, 0.004)
        for x in (-span, span):
            sk.column(x - 0.05, 0, x + 0.05, deck, c.main)
    elif kind == 3:  # cable-stayed: one A-shaped pylon, stay cables fanning out both ways
        th = r.uniform(0.6, 0.8)
        sk.shaded([(-0.12, 0), (-0.07, 0), (0.0, th), (-0.03, th)], c.main)
        sk.shaded([(0.07, 0), (0.12, 0), (0.03, th), (0.0, th)], c.main)
        for d in np.linspace(0.1, end * 0.95, 9):
            for s in (-1, 1):
                sk.line([(0, th - 0.03 - d * 0.2), (s * d, deck + 0.04)], c.accent, 0.004)
    else:            # truss: a zig-zag of steel above the deck, on piers
        th = r.uniform(0.14, 0.22)
        xs = np.linspace(-end * 0.95, end * 0.95, 11)
        sk.line([(xs[0], deck + th), (xs[-1], deck + th)], c.accent, 0.014)
        sk.line([(x, deck + 0.04 + (th - 0.04) * (i % 2)) for i, x in enumerate(xs)], c.accent, 0.012)
        for x in (-end * 0.95, 0, end * 0.95):
            sk.column(x - 0.05, 0, x + 0.05, deck, c.main)


def _draw_pagoda(sk, c, r, photo):
    tiers = (3, 9, 5, 7, 4, 6)[c.variant % 6]
    podium = 0.03 if c.variant % 4 < 2 else 0.12  # some stand on a tall stone podium
    curl = 0.45 if c.variant % 2 == 0 else 0.8      # how far the eaves overhang and curl
    w0 = r.uniform(0.16, 0.24)
    tier_h = r.uniform(0.72, 0.8) * (1 - podium) / tiers
    sk.block(-w0 * 1.4, 0, w0 * 1.4, podium, (150, 146, 136), side=0.02)
    y = podium
    for i in range(tiers):
        w = w0 * (1 - 0.5 * i / tiers)
        sk.block(-w, y, w, y + tier_h * 0.6, c.main)
        sk.windows(-w * 0.7, y, w * 0.7, y + tier_h * 0.5, 1, 3, "rect")
        sk.eave(-w, w, y + tier_h * 0.55, tier_h * 0.45, w * curl, c.accent)
        y += tier_h
    sk.line([(0, y), (0, y + 0.1)], GOLD, 0.008)
    for k in range(4):
        sk.ellipse(0, y + 0.02 + k * 0.02, 0.018, 0.006, GOLD)


def _draw_temple(sk, c, r, photo):
    hw = r.uniform(0.4, 0.62)
    ncol = (4, 6, 8, 10)[c.variant % 4]
    for i in range(3):  # three steps
        sk.rect(-hw - 0.06 + 0.02 * i, 0.02 * i, hw + 0.06 - 0.02 * i, 0.02 * (i + 1), _shade(c.main, 0.9))
    ch, base = r.uniform(0.28, 0.4), 0.06
    sk.rect(-hw, base, hw, base + ch, _shade(c.main, 0.42))  # the cella wall, in shadow
    cw = 0.35 * (2 * hw) / ncol
    for x in np.linspace(-hw + cw, hw - cw, ncol):
        sk.column(x - cw / 2, base, x + cw / 2, base + ch, c.main)
        sk.rect(x - cw * 0.7, base + ch - 0.015, x + cw * 0.7, base + ch, _shade(c.main, 1.1))
    top = base + ch
    sk.block(-hw, top, hw, top + 0.06, c.main)
    sk.rect(-hw, top + 0.02, hw, top + 0.045, c.accent)  # frieze
    for x in np.linspace(-hw, hw, ncol * 2 + 1):  # triglyphs
        sk.rect(x - 0.006, top + 0.02, x + 0.006, top + 0.045, _shade(c.main, 0.7))
    top += 0.06
    roof = c.variant % 3
    if roof == 2:  # a Pantheon-like drum and dome behind the front
        sk.column(-hw * 0.6, top, hw * 0.6, top + 0.06, c.main)
        sk.dome(0, top + 0.06, hw * 0.6, hw * 0.38, _shade(c.main, 0.95))
    elif roof == 1:  # a flat attic crowned with statues
        sk.block(-hw * 0.9, top, hw * 0.9, top + 0.06, c.main)
        for x in np.linspace(-hw * 0.8, hw * 0.8, 5):
            sk.humanoid(x, top + 0.06, 0.09, _mix(c.accent, (230, 230, 230), 0.5), "wide")
    else:
        ph = hw * r.uniform(0.22, 0.32)
        sk.poly([(-hw - 0.02, top), (hw + 0.02, top), (0, top + ph)], c.main)
        sk.poly([(-hw * 0.8, top + 0.012), (hw * 0.8, top + 0.012), (0, top + ph * 0.8)], c.accent)


def _draw_skyscraper(sk, c, r, photo):
    w, h = r.uniform(0.1, 0.17), r.uniform(0.66, 0.82)
    setbacks = c.variant % 3
    style = c.variant % 4
    glass = _mix(c.accent, (200, 220, 235), 0.5)
    y, sections = 0.0, setbacks + 1
    for i in range(sections):
        sw = w * (1 - 0.22 * i)
        sh = h * (0.55 if i == 0 and sections > 1 else 1.0 / sections)
        if i == sections - 1:
            sh = h - y
        sk.block(-sw, y, sw, y + sh, c.main, side=sw * 0.35)
        if style == 0:      # window grid
            sk.windows(-sw * 0.9, y, sw * 0.9, y + sh, max(2, int(sh * 45)), max(2, int(sw * 40)), "rect", glass)
        elif style == 1:    # vertical glass bands
            for x in np.linspace(-sw * 0.8, sw * 0.8, 5):
                sk.rect(x - sw * 0.1, y + 0.01, x + sw * 0.1, y + sh - 0.01, glass)
        elif style == 2:    # horizontal ribbon windows
            sk.windows(-sw * 0.95, y, sw * 0.95, y + sh, max(2, int(sh * 30)), 1, "band", glass)
        else:               # diagrid
            for k in np.linspace(-1, 1, 5):
                sk.line([(-sw, y + sh * (0.5 + 0.5 * k)), (sw, y + sh * (0.5 + 0.5 * k) + sw * 1.2)], glass, 0.006)
                sk.line([(sw, y + sh * (0.5 + 0.5 * k)), (-sw, y + sh * (0.5 + 0.5 * k) + sw * 1.2)], glass, 0.006)
        y += sh
    sw = w * (1 - 0.22 * setbacks)
    crown = c.variant % 5
    if crown == 0:
        sk.line([(0, y), (0, y + 0.12)], (200, 200, 200), 0.006)
    elif crown == 1:
        sk.cone(0, y, sw, sw * 1.6, c.accent)
    elif crown == 2:
        for k in range(3):
            sk.block(-sw * (0.8 - 0.25 * k), y + 0.03 * k, sw * (0.8 - 0.25 * k), y + 0.03 * (k + 1), c.accent)
    elif crown == 3:
        sk.poly([(-sw, y), (sw, y), (sw, y + sw * 0.9)], c.accent)
    else:
        sk.block(-sw * 0.6, y, sw * 0.6, y + 0.03, c.accent)


def _draw_obelisk(sk, c, r, photo):
    bw, h = r.uniform(0.06, 0.085), r.uniform(0.55, 0.72)
    steps = 1 + c.variant % 3
    y = 0.0
    for i in range(steps):  # stepped pedestal
        pw = bw * (2.8 - 0.5 * i)
        sk.block(-pw, y, pw, y + 0.05, _shade(c.main, 0.85), side=0.02)
        y += 0.05
    if c.variant % 2:  # a tall plinth with a bronze relief
        sk.block(-bw * 1.5, y, bw * 1.5, y + 0.12, _shade(c.main, 0.9), side=0.02)
        sk.rect(-bw, y + 0.03, bw, y + 0.09, c.accent)
        y += 0.12
    tw = bw * 0.65
    sk.poly([(-bw, y), (0, y), (0, y + h), (-tw, y + h)], c.main)
    sk.poly([(0, y), (bw, y), (tw, y + h), (0, y + h)], _shade(c.main, 0.65))
    ornament = c.variant % 4
    if ornament == 0:  # columns of carved glyphs
        for k in range(int(h / 0.03)):
            gy = y + 0.02 + k * 0.03
            sk.rect(-bw * 0.5, gy, -bw * 0.15, gy + 0.012, _shade(c.main, 0.6))
    elif ornament == 1:  # metal bands
        for f in (0.15, 0.5, 0.85):
            sk.rect(-bw, y + h * f, bw, y + h * f + 0.02, c.accent)
    elif ornament == 2:  # a dark base section, as if weathered
        sk.poly([(-bw, y), (bw, y), (bw * 0.95, y + h * 0.2), (-bw * 0.95, y + h * 0.2)], _shade(c.main, 0.5))
    top = GOLD if ornament in (1, 3) else c.accent
    sk.poly([(-tw, y + h), (tw, y + h), (0, y + h + tw * 1.8)], top)
    if ornament == 3:  # a star or sphere crowning it
        sk.ellipse(0, y + h + tw * 2.2, tw * 0.6, tw * 0.6, GOLD)


def _draw_lighthouse(sk, c, r, photo):
    bw, h = r.uniform(0.08, 0.12), r.uniform(0.5, 0.62)
    tw = bw * r.uniform(0.6, 0.78)
    sk.poly([(-0.3, 0), (0.32, 0), (0.2, 0.06), (-0.15, 0.07)], (96, 90, 84))  # rocks
    bands = 2 + c.variant % 4
    base = 0.05
    for i in range(bands * 2):
        f0, f1 = i / (bands * 2), (i + 1) / (bands * 2)
        w0, w1 = bw + (tw - bw) * f0, bw + (tw - bw) * f1
        color = c.main if i % 2 == 0 else c.accent
        sk.shaded([(-w0, base + h * f0), (w0, base + h * f0), (w1, base + h * f1), (-w1, base + h * f1)], color)
    top = base + h
    sk.rect(-tw * 1.45, top, tw * 1.45, top + 0.02, (40, 40, 44))  # gallery
    for x in np.linspace(-tw * 1.4, tw * 1.4, 7):
        sk.line([(x, top + 0.02), (x, top + 0.045)], (40, 40, 44), 0.003)
    sk.rect(-tw * 0.8, top + 0.02, tw * 0.8, top + 0.09, (250, 226, 140))  # the lamp room
    for x in np.linspace(-tw * 0.8, tw * 0.8, 4):
        sk.line([(x, top + 0.02), (x, top + 0.09)], (40, 40, 44), 0.004)
    cap = c.variant % 3
    if cap == 0:
        sk.dome(0, top + 0.09, tw * 0.9, tw * 0.8, c.accent)
    elif cap == 1:
        sk.cone(0, top + 0.09, tw * 1.0, tw * 1.4, c.accent)
    else:  # a flat roof with a weather vane
        sk.rect(-tw, top + 0.09, tw, top + 0.11, c.accent)
        sk.line([(0, top + 0.11), (0, top + 0.17)], (40, 40, 44), 0.005)
        sk.poly([(0, top + 0.17), (0.05, top + 0.16), (0, top + 0.15)], (40, 40, 44))
    if c.variant % 2:  # keeper's house at the foot
        sk.block(bw * 0.9, 0.05, bw * 0.9 + 0.22, 0.15, (236, 232, 222))
        sk.poly([(bw * 0.8, 0.15), (bw * 0.9 + 0.24, 0.15), (bw * 0.9 + 0.11, 0.22)], c.accent)
        sk.windows(bw + 0.02, 0.07, bw + 0.2, 0.13, 1, 3, "rect")


def _draw_castle(sk, c, r, photo):
    ww, wh = r.uniform(0.4, 0.65), r.uniform(0.2, 0.3)
    if c.variant % 3 != 1:  # the keep, behind the wall
        kw, ktop = r.uniform(0.14, 0.22), wh + r.uniform(0.2, 0.32)
        sk.block(-kw, wh * 0.5, kw, ktop, _shade(c.main, 0.9), side=0.03)
        sk.crenels(-kw, kw, ktop, 0.035, 5, _shade(c.main, 0.9))
        sk.windows(-kw * 0.8, wh, kw * 0.8, ktop - 0.02, 2, 3, "slit")
    sk.block(-ww, 0, ww, wh, c.main)
    sk.crenels(-ww, ww, wh, 0.03, int(ww * 22), c.main)
    sk.arch_opening(0, 0, 0.06, wh * 0.7, WINDOW)
    for y in np.linspace(0.02, wh * 0.6, 4):  # portcullis
        sk.line([(-0.06, y), (0.06, y)], (80, 70, 60), 0.004)
    xs = ((-ww, ww), (-ww, -ww * 0.45, ww * 0.45, ww), (-ww, -0.13, 0.13, ww),
          (-ww, -ww * 0.6, -ww * 0.25, ww * 0.25, ww * 0.6, ww))[c.variant % 4]
    roof = (c.variant // 2) % 3
    for x in xs:
        tw, th = 0.07, wh * r.uniform(1.4, 1.8)
        sk.column(x - tw, 0, x + tw, th, c.main)
        sk.windows(x - tw * 0.6, th * 0.3, x + tw * 0.6, th * 0.9, 2, 1, "slit")
        if roof == 1:
            sk.crenels(x - tw * 1.1, x + tw * 1.1, th, 0.03, 3, c.main)
        else:
            sk.cone(x, th, tw * 1.25, tw * (2.6 if roof == 0 else 1.6), c.accent)
            sk.line([(x, th + tw * 2.5), (x, th + tw * 3.3)], WINDOW, 0.004)
            sk.poly([(x, th + tw * 3.3), (x + 0.05, th + tw * 3.1), (x, th + tw * 2.9)], c.accent)


def _draw_windmill(sk, c, r, photo):
    bw, h = r.uniform(0.13, 0.18), r.uniform(0.38, 0.48)
    sails = (4, 4, 5, 6)[c.variant % 4]
    tapered = c.variant % 2 == 0
    sk.column(-bw, 0, bw, h, c.main, top=0.62 if tapered else 0.9)
    sk.windows(-bw * 0.4, h * 0.2, bw * 0.4, h * 0.8, 3, 1, "rect")
    sk.arch_opening(0, 0, bw * 0.3, h * 0.2, WINDOW)
    cap_w = bw * (0.75 if tapered else 1.0)
    if c.variant % 3 == 0:
        sk.dome(0, h, cap_w, cap_w * 0.9, c.accent)
    else:
        sk.cone(0, h, cap_w * 1.1, cap_w * 1.2, c.accent)
    if c.variant % 5 == 4:  # a wooden stage (gallery) around the body
        sk.rect(-bw * 1.5, h * 0.35, bw * 1.5, h * 0.38, (90, 66, 44))
    hub = (0.0, h + cap_w * 0.3)
    length = r.uniform(0.34, 0.42)
    angle0 = photo.uniform(0, 360)  # the sails turn: each photo catches them elsewhere
    sail_color = _mix(c.accent, (235, 230, 215), 0.6)
    for k in range(sails):
        a = math.radians(angle0 + 360 * k / sails)
        d, n = (math.cos(a), math.sin(a)), (-math.sin(a), math.cos(a))
        def at(s, t):
            return (hub[0] + d[0] * s + n[0] * t, hub[1] + d[1] * s + n[1] * t)
        sk.line([at(0, 0), at(length, 0)], (70, 52, 36), 0.008)
        frame = [at(0.07, 0.0), at(length, 0.0), at(length, 0.06), at(0.07, 0.06)]
        sk.poly(frame, sail_color)
        for s in np.linspace(0.1, length, 6):  # the lattice the sailcloth is spread on
            sk.line([at(s, 0), at(s, 0.06)], (70, 52, 36), 0.003)
    sk.ellipse(*hub, 0.018, 0.018, (50, 40, 30))


def _draw_statue(sk, c, r, photo):
    pw = r.uniform(0.1, 0.16)
    ph = r.uniform(0.3, 0.4) if c.variant % 2 else r.uniform(0.16, 0.22)  # tall or low pedestal
    stone = _mix(c.accent, (170, 165, 155), 0.7)
    sk.block(-pw * 1.3, 0, pw * 1.3, 0.04, _shade(stone, 0.9), side=0.02)
    sk.block(-pw, 0.04, pw, ph, stone, side=0.03)
    sk.rect(-pw * 1.15, ph - 0.03, pw * 1.15, ph, _shade(stone, 1.1))
    sk.rect(-pw * 0.5, ph * 0.4, pw * 0.5, ph * 0.6, GOLD)  # the plaque
    pose = ("torch", "wide", "horse", "sword", "seated")[c.variant % 5]
    fh = r.uniform(0.42, 0.55)
    if pose == "horse":  # an equestrian statue: body, legs, raised neck and head, rider
        by = ph + fh * 0.38
        sk.shaded(_arc(0.0, by, fh * 0.26, fh * 0.12, 0, 360, 24), c.main)
        for x, lean in ((-0.2, -0.04), (-0.12, 0.02), (0.13, 0.0), (0.2, 0.1)):
            sk.line([(x * fh, by - fh * 0.05), ((x + lean) * fh, ph)], c.main, 0.018)
        sk.shaded([(fh * 0.14, by + fh * 0.02), (fh * 0.26, by - fh * 0.02), (fh * 0.36, by + fh * 0.22),
                   (fh * 0.42, by + fh * 0.2), (fh * 0.44, by + fh * 0.28), (fh * 0.3, by + fh * 0.33)],
                  c.main)                                                         # neck and head
        sk.line([(-fh * 0.25, by + fh * 0.04), (-fh * 0.34, by - fh * 0.2)], c.main, 0.014)  # tail
        sk.humanoid(0.0, by + fh * 0.05, fh * 0.45, c.main, "sword")
    elif pose == "seated":
        sk.block(-fh * 0.22, ph, fh * 0.22, ph + fh * 0.3, _shade(c.main, 0.8))    # throne
        sk.humanoid(0.0, ph + fh * 0.12, fh * 0.6, c.main, "wide")
    else:
        sk.humanoid(0.0, ph, fh, c.main, pose)


def _draw_minaret(sk, c, r, photo):
    w, h = r.uniform(0.05, 0.075), r.uniform(0.62, 0.8)
    sk.column(-w * 1.4, 0, w * 1.4, 0.12, c.main)   # square-ish base
    sk.column(-w, 0.12, w, h, c.main)
    pattern = c.variant % 3
    if pattern == 0:
        for y in np.arange(0.16, h - 0.03, 0.06):
            sk.rect(-w, y, w, y + 0.02, c.accent)
    elif pattern == 1:
        for y in np.arange(0.16, h - 0.05, 0.05):
            sk.line([(-w, y), (-w / 3, y + 0.025), (w / 3, y), (w, y + 0.025)], c.accent, 0.006)
    balconies = 1 + c.variant % 3
    for k in range(balconies):
        y = 0.12 + (h - 0.12) * (k + 1) / (balconies + 0.3)
        sk.poly([(-w, y - 0.04), (w, y - 0.04), (w * 1.8, y), (-w * 1.8, y)], _shade(c.main, 0.8))
        sk.rect(-w * 1.8, y, w * 1.8, y + 0.025, _shade(c.main, 1.1))
    if c.variant % 2 == 0:
        sk.cone(0, h, w * 1.2, w * 4.0, c.accent)
        top = h + w * 4.0
    else:
        sk.onion(0, h, w * 1.4, w * 3.0, c.accent)
        top = h + w * 2.7
    sk.line([(0, top), (0, top + 0.05)], GOLD, 0.005)
    sk.ellipse(0, top + 0.055, 0.012, 0.012, GOLD)
    if c.variant % 4 < 2:  # the prayer hall's dome beside it
        sk.block(0.08, 0, 0.55, 0.16, _shade(c.main, 0.95), side=0.03)
        sk.windows(0.1, 0.02, 0.53, 0.14, 1, 5, "arch")
        sk.column(0.2, 0.16, 0.44, 0.2, _shade(c.main, 0.95))
        sk.dome(0.32, 0.2, 0.13, 0.14, c.accent)


def _draw_lattice(sk, c, r, photo):
    b, h = r.uniform(0.24, 0.34), r.uniform(0.8, 0.94)
    shape = c.variant % 4  # Eiffel-like, radio mast, hyperboloid (Shukhov), TV tower with a sphere
    banded = c.variant % 3 == 1  # aviation warning paint: red and white sections
    color = (200, 40, 40) if banded else c.main
    if shape == 2:
        # Stacked hyperboloids: straight bars between two tilted rings project to crossing
        # lines whose envelope is the waisted silhouette.
        sections = 3
        for k in range(sections):
            y0, y1 = h * k / sections, h * (k + 1) / sections
            r0, r1 = b * (1 - 0.28 * k), b * (1 - 0.28 * (k + 1)) * 0.95
            for a in np.linspace(0, 2 * np.pi, 16, endpoint=False):
                for twist in (0.9, -0.9):
                    sk.line([(r0 * math.cos(a), y0), (r1 * math.cos(a + twist), y1)], color, 0.005)
            sk.block(-r1, y1 - 0.015, r1, y1 + 0.01, c.main)
        sk.line([(0, h), (0, h + 0.06)], c.accent, 0.008)
        return
    f = np.linspace(0, 1, 24)
    half = b * ((1 - f) ** 2.2 if shape == 0 else 0.8 * (1 - f)) + 0.015
    for s in (-1, 1):
        sk.line(list(zip(s * half, h * f)), color, 0.018)
    # Cross bracing between the legs: the X pattern is what a CNN keys on.
    levels = np.linspace(0, 0.95, 14)
    for i, (f0, f1) in enumerate(zip(levels[:-1], levels[1:])):
        x0, x1 = np.interp(f0, f, half), np.interp(f1, f, half)
        band = (240, 240, 240) if banded and i % 2 else color
        sk.line([(-x0, h * f0), (x1, h * f1)], band, 0.007)
        sk.line([(x0, h * f0), (-x1, h * f1)], band, 0.007)
    for fp in (0.3, 0.6, 0.45)[: 1 + c.variant % 3]:
        x = np.interp(fp, f, half)
        sk.block(-x * 1.3, h * fp, x * 1.3, h * fp + 0.04, c.main)
    if shape == 0:
        sk.arch_opening(0, 0, b * 0.55, b * 0.45)
    elif shape == 1:  # guy wires hold the mast
        for s in (-1, 1):
            sk.line([(0, h * 0.8), (s * 0.45, 0)], (90, 90, 90), 0.003)
            sk.line([(0, h * 0.5), (s * 0.38, 0)], (90, 90, 90), 0.003)
    else:
        sk.shaded(_arc(0, h * 0.75, 0.1, 0.1, 0, 360, 28), c.accent, vertical=0.4)
    sk.line([(0, h), (0, h + 0.06)], c.accent, 0.008)


def _draw_torii(sk, c, r, photo):
    s, h = r.uniform(0.18, 0.26), r.uniform(0.45, 0.6)
    pw = r.uniform(0.025, 0.04)
    if c.variant % 3 == 2:  # a shrine hall seen through the gate
        sk.block(-0.2, 0, 0.2, 0.2, (120, 90, 60))
        sk.eave(-0.2, 0.2, 0.19, 0.1, 0.08, (60, 60, 66))
    for x in (-s, s):
        sk.column(x - pw, 0, x + pw, h, c.main)
        sk.rect(x - pw * 1.3, 0, x + pw * 1.3, 0.03, WINDOW)
        if c.variant % 4 == 3:  # ryobu style: short braces on both sides of each pillar
            for dx in (-0.05, 0.05):
                sk.column(x + dx - pw / 2, 0, x + dx + pw / 2, h * 0.35, c.main)
    sk.rect(-s - 0.08, h * 0.76, s + 0.08, h * 0.82, c.main)  # the lower beam (nuki)
    top = (40, 36, 36) if c.variant % 2 == 0 else c.accent
    if c.variant % 3 == 1:  # shinmei style: a straight lintel
        sk.block(-s - 0.1, h, s + 0.1, h + 0.05, top)
    else:                   # myojin style: a lintel whose ends sweep upwards
        lift = r.uniform(0.03, 0.07)
        sk.poly([(-s - 0.15, h + lift), (-s, h), (s, h), (s + 0.15, h + lift), (s + 0.15, h + lift + 0.05),
                 (0, h + 0.05), (-s - 0.15, h + lift + 0.05)], top)         # the kasagi
        sk.rect(-s - 0.08, h - 0.04, s + 0.08, h, c.main)                    # the shimaki below it
    sk.rect(-0.035, h * 0.82, 0.035, h, c.accent)                            # name tablet


def _draw_wheel(sk, c, r, photo):
    radius = r.uniform(0.36, 0.44)
    hub = (0.0, radius + r.uniform(0.06, 0.1))
    spokes = (8, 12, 16, 10, 20)[c.variant % 5]
    gondola = c.variant % 4  # round, boxy, long capsule or tiny seats
    for s in (-1, 1):  # the A-frame that carries the axle
        sk.line([hub, (s * radius * 0.55, 0)], c.accent, 0.02)
    turn = photo.uniform(0, 360)  # the wheel turns between photos
    rainbow = c.variant % 3 == 2
    for k in range(spokes):
        a = math.radians(turn + 360 * k / spokes)
        rim = (hub[0] + radius * math.cos(a), hub[1] + radius * math.sin(a))
        sk.line([hub, rim], c.main, 0.005)
        car = ACCENTS[k % len(ACCENTS)] if rainbow else c.accent
        gx, gy = rim[0], rim[1] - 0.03  # gondolas hang below the rim
        if gondola == 0:
            sk.ellipse(gx, gy, 0.028, 0.03, car)
        elif gondola == 1:
            sk.rect(gx - 0.025, gy - 0.025, gx + 0.025, gy + 0.025, car)
        elif gondola == 2:
            sk.ellipse(gx, gy, 0.045, 0.022, car)
        else:
            sk.rect(gx - 0.015, gy - 0.012, gx + 0.015, gy + 0.012, car)
    sk.line(_arc(*hub, radius, radius, 0, 360, 60), c.main, 0.014)
    if c.variant % 2:  # a second, inner rim with cross bracing
        sk.line(_arc(*hub, radius * 0.88, radius * 0.88, 0, 360, 60), c.main, 0.008)
    sk.ellipse(*hub, 0.03, 0.03, _shade(c.accent, 0.7))
    if c.variant % 3 == 1:  # the boarding station at its foot
        sk.block(-0.22, 0, 0.22, 0.07, (230, 230, 235), side=0.02)
        sk.rect(-0.22, 0.05, 0.22, 0.07, c.accent)


def _draw_amphitheatre(sk, c, r, photo):
    hw, sh = r.uniform(0.42, 0.6), r.uniform(0.14, 0.18)
    storeys = 2 + c.variant % 3
    arches = int(r.integers(7, 11))
    for k in range(storeys):
        y0, y1 = k * sh, (k + 1) * sh
        sk.column(-hw, y0, hw, y1, c.main)  # a curved wall: shaded like a drum
        if k == storeys - 1 and c.variant % 4 >= 2:  # a closed attic with small windows
            sk.windows(-hw * 0.95, y0, hw * 0.95, y1, 1, arches, "rect")
        else:
            sk.windows(-hw * 0.95, y0, hw * 0.95, y1, 1, arches, "arch")
        sk.rect(-hw, y1 - 0.012, hw, y1, _shade(c.main, 1.15))  # cornice
    top = storeys * sh
    if c.variant % 2:  # a ruin: the upper storeys are broken away on one side
        sk.poly([(hw * 0.1, top + 0.01), (hw + 0.01, top + 0.01), (hw + 0.01, sh * 1.2)], HOLE)
    for x in np.linspace(-hw * 1.1, hw * 1.1, 5)[1:-1:2] if c.variant % 3 == 1 else ():
        sk.line([(x, top), (x, top + 0.08)], (40, 40, 44), 0.005)  # flag poles
        sk.poly([(x, top + 0.08), (x + 0.06, top + 0.07), (x, top + 0.055)], c.accent)


FAMILY_DRAWERS = {
    "tower": _draw_tower, "dome": _draw_dome, "arch": _draw_arch, "pyramid": _draw_pyramid,
    "bridge": _draw_bridge, "pagoda": _draw_pagoda, "temple": _draw_temple,
    "skyscraper": _draw_skyscraper, "obelisk": _draw_obelisk, "lighthouse": _draw_lighthouse,
    "castle": _draw_castle, "windmill": _draw_windmill, "statue": _draw_statue,
    "minaret": _draw_minaret, "lattice": _draw_lattice, "torii": _draw_torii,
    "wheel": _draw_wheel, "amphitheatre": _draw_amphitheatre,
}


def draw_landmark(cls: LandmarkClass, height: int, photo_rng: np.random.Generator) -> Image.Image:
    """The landmark alone on a transparent RGBA layer, cropped to its outline."""
    sk = Sketch(height, cls)
    FAMILY_DRAWERS[cls.family](sk, cls, np.random.default_rng(cls.design_seed), photo_rng)
    return sk.image.crop(sk.image.getbbox())
