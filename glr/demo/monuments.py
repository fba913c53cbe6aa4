"""Drawing the demo's monuments and engineering works: the structure families with no rooms inside.

Triumphal arches, pyramids, bridges, obelisks, statues, lattice towers, torii gates and
Ferris wheels.

Every function here has the signature `draw_<family>(sk, c, r, photo)` that
`glr.demo.landmarks` documents: a `Sketch`, the `LandmarkClass`, the class's generator and
the photo's generator. `glr.demo.landmarks.FAMILY_DRAWERS` maps each family to its function.
"""

from __future__ import annotations

import math

import numpy as np

from glr.demo.sketch import ACCENTS, GOLD, WINDOW, arc, mix, shade


def draw_arch(sk, c, r, photo):
    """A triumphal arch with one or three openings, an attic storey and maybe a chariot or statues."""
    hw, h = r.uniform(0.3, 0.45), r.uniform(0.42, 0.6)
    sk.block(-hw, 0, hw, h, c.main, side=0.05)
    ah = r.uniform(0.08, 0.14)  # the attic storey on top
    sk.block(-hw * 0.96, h, hw * 0.96, h + ah, shade(c.main, 0.92), side=0.05)
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
        sk.column(x - 0.02, 0.02, x + 0.02, h - 0.06, shade(c.main, 1.08))
    if c.variant % 3 == 0:   # a bronze chariot group on top
        sk.shaded([(-hw * 0.35, h + ah), (hw * 0.35, h + ah), (hw * 0.25, h + ah + 0.08),
                   (0, h + ah + 0.13), (-hw * 0.25, h + ah + 0.08)], (70, 110, 90))
    if c.variant % 4 >= 2:   # statues stand on the corners of the attic
        for x in (-hw * 0.85, hw * 0.85):
            sk.humanoid(x, h + ah, 0.1, (225, 222, 210), "wide")


def draw_pyramid(sk, c, r, photo):
    """A smooth or stepped pyramid, maybe Mesoamerican with a stair and shrine, or with a neighbour."""
    hw = r.uniform(0.45, 0.7)
    h = min(0.85, hw * r.uniform(0.65, 1.0))
    kind, extra = c.variant % 3, c.variant % 4
    if extra == 2:  # a smaller queen's pyramid beside it, drawn first so it stands behind
        q = hw * 0.45
        sk.poly([(hw * 0.5, 0), (hw * 0.5 + 2 * q, 0), (hw * 0.5 + q, q * 1.1)], shade(c.main, 0.8))
    if kind == 0:  # smooth faces, seen from a corner: one lit face, one in shade
        edge, apex = r.uniform(-0.2, 0.3) * hw, r.uniform(-0.1, 0.1) * hw
        sk.poly([(-hw, 0), (edge, 0), (apex, h)], c.main)
        sk.poly([(edge, 0), (hw, 0), (apex, h)], shade(c.main, 0.6))
        for f in np.linspace(0.1, 0.9, 9):  # courses of stone
            sk.line([(-hw + (apex + hw) * f, h * f), (hw + (apex - hw) * f, h * f)], shade(c.main, 0.8), 0.003)
        if extra == 1:  # a gilded capstone
            sk.poly([(apex - hw * 0.12, h * 0.88), (apex + hw * 0.12, h * 0.88), (apex, h)], GOLD)
    else:
        tiers = int(r.integers(4, 8))
        for i in range(tiers):
            f = 1 - i / tiers
            y0, y1 = h * i / tiers, h * (i + 1) / tiers
            sk.block(-hw * f, y0, hw * f, y1, c.main)
            sk.rect(-hw * f, y0, hw * f, y0 + (y1 - y0) * 0.25, shade(c.main, 0.7))
        if kind == 2:  # a Mesoamerican pyramid: central stair and a shrine on top
            sk.poly([(-hw * 0.14, 0), (hw * 0.14, 0), (hw * 0.08, h), (-hw * 0.08, h)], shade(c.main, 1.15))
            for f in np.linspace(0.03, 0.97, 14):
                sk.line([(-hw * (0.14 - 0.06 * f), h * f), (hw * (0.14 - 0.06 * f), h * f)], shade(c.main, 0.7), 0.003)
            sk.block(-hw * 0.18, h, hw * 0.18, h + 0.1, c.accent)
            sk.rect(-hw * 0.05, h, hw * 0.05, h + 0.06, WINDOW)
        elif extra == 1:
            sk.block(-hw * 0.1, h, hw * 0.1, h + 0.05, GOLD)
    if extra == 3:  # a pair of obelisks guards the approach
        for x in (-hw - 0.08, hw + 0.08):
            sk.poly([(x - 0.025, 0), (x + 0.025, 0), (x + 0.016, 0.3), (x - 0.016, 0.3)], c.accent)
            sk.poly([(x - 0.016, 0.3), (x + 0.016, 0.3), (x, 0.34)], GOLD)


def draw_bridge(sk, c, r, photo):
    """A long bridge: suspension, stone arches, steel arch, cable-stayed or truss."""
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
        pts = arc(0, deck, span, rise, 0, 180, 30)
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


def draw_obelisk(sk, c, r, photo):
    """An obelisk on a stepped pedestal, carved, banded or weathered, with a pyramidion on top."""
    bw, h = r.uniform(0.06, 0.085), r.uniform(0.55, 0.72)
    steps = 1 + c.variant % 3
    y = 0.0
    for i in range(steps):  # stepped pedestal
        pw = bw * (2.8 - 0.5 * i)
        sk.block(-pw, y, pw, y + 0.05, shade(c.main, 0.85), side=0.02)
        y += 0.05
    if c.variant % 2:  # a tall plinth with a bronze relief
        sk.block(-bw * 1.5, y, bw * 1.5, y + 0.12, shade(c.main, 0.9), side=0.02)
        sk.rect(-bw, y + 0.03, bw, y + 0.09, c.accent)
        y += 0.12
    tw = bw * 0.65
    sk.poly([(-bw, y), (0, y), (0, y + h), (-tw, y + h)], c.main)
    sk.poly([(0, y), (bw, y), (tw, y + h), (0, y + h)], shade(c.main, 0.65))
    ornament = c.variant % 4
    if ornament == 0:  # columns of carved glyphs
        for k in range(int(h / 0.03)):
            gy = y + 0.02 + k * 0.03
            sk.rect(-bw * 0.5, gy, -bw * 0.15, gy + 0.012, shade(c.main, 0.6))
    elif ornament == 1:  # metal bands
        for f in (0.15, 0.5, 0.85):
            sk.rect(-bw, y + h * f, bw, y + h * f + 0.02, c.accent)
    elif ornament == 2:  # a dark base section, as if weathered
        sk.poly([(-bw, y), (bw, y), (bw * 0.95, y + h * 0.2), (-bw * 0.95, y + h * 0.2)], shade(c.main, 0.5))
    top = GOLD if ornament in (1, 3) else c.accent
    sk.poly([(-tw, y + h), (tw, y + h), (0, y + h + tw * 1.8)], top)
    if ornament == 3:  # a star or sphere crowning it
        sk.ellipse(0, y + h + tw * 2.2, tw * 0.6, tw * 0.6, GOLD)


def draw_statue(sk, c, r, photo):
    """A statue on a pedestal: standing (torch, arms wide, sword), seated or on horseback."""
    pw = r.uniform(0.1, 0.16)
    ph = r.uniform(0.3, 0.4) if c.variant % 2 else r.uniform(0.16, 0.22)  # tall or low pedestal
    stone = mix(c.accent, (170, 165, 155), 0.7)
    sk.block(-pw * 1.3, 0, pw * 1.3, 0.04, shade(stone, 0.9), side=0.02)
    sk.block(-pw, 0.04, pw, ph, stone, side=0.03)
    sk.rect(-pw * 1.15, ph - 0.03, pw * 1.15, ph, shade(stone, 1.1))
    sk.rect(-pw * 0.5, ph * 0.4, pw * 0.5, ph * 0.6, GOLD)  # the plaque
    pose = ("torch", "wide", "horse", "sword", "seated")[c.variant % 5]
    fh = r.uniform(0.42, 0.55)
    if pose == "horse":  # an equestrian statue: body, legs, raised neck and head, rider
        by = ph + fh * 0.38
        sk.shaded(arc(0.0, by, fh * 0.26, fh * 0.12, 0, 360, 24), c.main)
        for x, lean in ((-0.2, -0.04), (-0.12, 0.02), (0.13, 0.0), (0.2, 0.1)):
            sk.line([(x * fh, by - fh * 0.05), ((x + lean) * fh, ph)], c.main, 0.018)
        sk.shaded([(fh * 0.14, by + fh * 0.02), (fh * 0.26, by - fh * 0.02), (fh * 0.36, by + fh * 0.22),
                   (fh * 0.42, by + fh * 0.2), (fh * 0.44, by + fh * 0.28), (fh * 0.3, by + fh * 0.33)],
                  c.main)                                                         # neck and head
        sk.line([(-fh * 0.25, by + fh * 0.04), (-fh * 0.34, by - fh * 0.2)], c.main, 0.014)  # tail
        sk.humanoid(0.0, by + fh * 0.05, fh * 0.45, c.main, "sword")
    elif pose == "seated":
        sk.block(-fh * 0.22, ph, fh * 0.22, ph + fh * 0.3, shade(c.main, 0.8))    # throne
        sk.humanoid(0.0, ph + fh * 0.12, fh * 0.6, c.main, "wide")
    else:
        sk.humanoid(0.0, ph, fh, c.main, pose)


def draw_lattice(sk, c, r, photo):
    """A lattice tower: Eiffel-like, a guyed mast, a hyperboloid or a TV tower with a sphere."""
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
        sk.shaded(arc(0, h * 0.75, 0.1, 0.1, 0, 360, 28), c.accent, vertical=0.4)
    sk.line([(0, h), (0, h + 0.06)], c.accent, 0.008)


def draw_torii(sk, c, r, photo):
    """A torii gate, myojin or shinmei style, maybe with braced pillars or a shrine behind."""
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


def draw_wheel(sk, c, r, photo):
    """A Ferris wheel with gondolas, on an A-frame; it turns from photo to photo."""
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
    sk.line(arc(*hub, radius, radius, 0, 360, 60), c.main, 0.014)
    if c.variant % 2:  # a second, inner rim with cross bracing
        sk.line(arc(*hub, radius * 0.88, radius * 0.88, 0, 360, 60), c.main, 0.008)
    sk.ellipse(*hub, 0.03, 0.03, shade(c.accent, 0.7))
    if c.variant % 3 == 1:  # the boarding station at its foot
        sk.block(-0.22, 0, 0.22, 0.07, (230, 230, 235), side=0.02)
        sk.rect(-0.22, 0.05, 0.22, 0.07, c.accent)
