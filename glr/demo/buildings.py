"""Drawing the demo's buildings: the structure families with storeys and windows.

Towers, domed churches, pagodas, temples, skyscrapers, lighthouses, castles, windmills,
minarets and amphitheatres.

Every function here has the signature `draw_<family>(sk, c, r, photo)` that
`glr.demo.landmarks` documents: a `Sketch`, the `LandmarkClass`, the class's generator and
the photo's generator. `glr.demo.landmarks.FAMILY_DRAWERS` maps each family to its function.
"""

from __future__ import annotations

import math

import numpy as np

from glr.demo.sketch import GOLD, HOLE, WINDOW, WINDOW_STYLES, mix, shade


def draw_tower(sk, c, r, photo):
    """A clock or bell tower in 2-4 stages, with a spire, cap, battlements, dome or onion on top."""
    w, h = r.uniform(0.08, 0.13), r.uniform(0.5, 0.68)
    stages = 2 + c.variant % 3
    style = WINDOW_STYLES[r.integers(len(WINDOW_STYLES))]
    sk.block(-w, 0, w, h, c.main, side=w * 0.3)
    stage_h = h / stages
    for i in range(stages):
        y0 = i * stage_h
        sk.rect(-w * 1.1, y0 + stage_h - 0.008, w * 1.1, y0 + stage_h + 0.008, shade(c.main, 0.75))
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


def draw_dome(sk, c, r, photo):
    """A domed church or capitol: a long body, a drum, a round, tall or onion dome, maybe a portico."""
    bw, bh = r.uniform(0.45, 0.7), r.uniform(0.18, 0.28)
    sk.block(-bw, 0, bw, bh, c.main, side=0.04)
    sk.windows(-bw * 0.9, bh * 0.1, bw * 0.9, bh * 0.9, 2, int(bw * 16), "arch")
    if c.variant % 4 >= 2:  # a columned portico in front
        pw = bw * 0.35
        sk.rect(-pw, 0, pw, bh * 1.25, shade(c.main, 0.5))
        for x in np.linspace(-pw * 0.85, pw * 0.85, 6):
            sk.column(x - 0.018, 0, x + 0.018, bh * 1.1, shade(c.main, 1.1))
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
            sk.line([(0, top), (dw * math.cos(math.radians(a)), y)], shade(c.accent, 0.7), 0.005)
    sk.column(-0.03, top, 0.03, top + 0.07, c.main)
    sk.cone(0, top + 0.07, 0.035, 0.05, GOLD)
    if c.variant % 2:  # twin bell towers at the corners
        for x in (-bw + 0.06, bw - 0.06):
            sk.block(x - 0.05, bh, x + 0.05, bh + 0.22, c.main)
            sk.dome(x, bh + 0.22, 0.05, 0.06, c.accent)


def draw_pagoda(sk, c, r, photo):
    """A pagoda of 3-9 tiers with curled eaves, on a low or tall podium."""
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


def draw_temple(sk, c, r, photo):
    """A classical temple front: steps, columns, a frieze, and a pediment, dome or statued attic."""
    hw = r.uniform(0.4, 0.62)
    ncol = (4, 6, 8, 10)[c.variant % 4]
    for i in range(3):  # three steps
        sk.rect(-hw - 0.06 + 0.02 * i, 0.02 * i, hw + 0.06 - 0.02 * i, 0.02 * (i + 1), shade(c.main, 0.9))
    ch, base = r.uniform(0.28, 0.4), 0.06
    sk.rect(-hw, base, hw, base + ch, shade(c.main, 0.42))  # the cella wall, in shadow
    cw = 0.35 * (2 * hw) / ncol
    for x in np.linspace(-hw + cw, hw - cw, ncol):
        sk.column(x - cw / 2, base, x + cw / 2, base + ch, c.main)
        sk.rect(x - cw * 0.7, base + ch - 0.015, x + cw * 0.7, base + ch, shade(c.main, 1.1))
    top = base + ch
    sk.block(-hw, top, hw, top + 0.06, c.main)
    sk.rect(-hw, top + 0.02, hw, top + 0.045, c.accent)  # frieze
    for x in np.linspace(-hw, hw, ncol * 2 + 1):  # triglyphs
        sk.rect(x - 0.006, top + 0.02, x + 0.006, top + 0.045, shade(c.main, 0.7))
    top += 0.06
    roof = c.variant % 3
    if roof == 2:  # a Pantheon-like drum and dome behind the front
        sk.column(-hw * 0.6, top, hw * 0.6, top + 0.06, c.main)
        sk.dome(0, top + 0.06, hw * 0.6, hw * 0.38, shade(c.main, 0.95))
    elif roof == 1:  # a flat attic crowned with statues
        sk.block(-hw * 0.9, top, hw * 0.9, top + 0.06, c.main)
        for x in np.linspace(-hw * 0.8, hw * 0.8, 5):
            sk.humanoid(x, top + 0.06, 0.09, mix(c.accent, (230, 230, 230), 0.5), "wide")
    else:
        ph = hw * r.uniform(0.22, 0.32)
        sk.poly([(-hw - 0.02, top), (hw + 0.02, top), (0, top + ph)], c.main)
        sk.poly([(-hw * 0.8, top + 0.012), (hw * 0.8, top + 0.012), (0, top + ph * 0.8)], c.accent)


def draw_skyscraper(sk, c, r, photo):
    """A skyscraper with setbacks, a facade of windows, glass bands, ribbons or a diagrid, and a crown."""
    w, h = r.uniform(0.1, 0.17), r.uniform(0.66, 0.82)
    setbacks = c.variant % 3
    style = c.variant % 4
    glass = mix(c.accent, (200, 220, 235), 0.5)
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


def draw_lighthouse(sk, c, r, photo):
    """A banded lighthouse on rocks with its gallery, lamp room and cap, maybe a keeper's house."""
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


def draw_castle(sk, c, r, photo):
    """A castle wall with a gate, round towers with cones or battlements, maybe a keep behind."""
    ww, wh = r.uniform(0.4, 0.65), r.uniform(0.2, 0.3)
    if c.variant % 3 != 1:  # the keep, behind the wall
        kw, ktop = r.uniform(0.14, 0.22), wh + r.uniform(0.2, 0.32)
        sk.block(-kw, wh * 0.5, kw, ktop, shade(c.main, 0.9), side=0.03)
        sk.crenels(-kw, kw, ktop, 0.035, 5, shade(c.main, 0.9))
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


def draw_windmill(sk, c, r, photo):
    """A windmill with 4-6 sails that turn from photo to photo."""
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
    sail_color = mix(c.accent, (235, 230, 215), 0.6)
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


def draw_minaret(sk, c, r, photo):
    """A minaret with balconies and a cone or onion top, maybe beside a domed prayer hall."""
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
        sk.poly([(-w, y - 0.04), (w, y - 0.04), (w * 1.8, y), (-w * 1.8, y)], shade(c.main, 0.8))
        sk.rect(-w * 1.8, y, w * 1.8, y + 0.025, shade(c.main, 1.1))
    if c.variant % 2 == 0:
        sk.cone(0, h, w * 1.2, w * 4.0, c.accent)
        top = h + w * 4.0
    else:
        sk.onion(0, h, w * 1.4, w * 3.0, c.accent)
        top = h + w * 2.7
    sk.line([(0, top), (0, top + 0.05)], GOLD, 0.005)
    sk.ellipse(0, top + 0.055, 0.012, 0.012, GOLD)
    if c.variant % 4 < 2:  # the prayer hall's dome beside it
        sk.block(0.08, 0, 0.55, 0.16, shade(c.main, 0.95), side=0.03)
        sk.windows(0.1, 0.02, 0.53, 0.14, 1, 5, "arch")
        sk.column(0.2, 0.16, 0.44, 0.2, shade(c.main, 0.95))
        sk.dome(0.32, 0.2, 0.13, 0.14, c.accent)


def draw_amphitheatre(sk, c, r, photo):
    """An amphitheatre's arcaded storeys, maybe a ruin or flying flags."""
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
        sk.rect(-hw, y1 - 0.012, hw, y1, shade(c.main, 1.15))  # cornice
    top = storeys * sh
    if c.variant % 2:  # a ruin: the upper storeys are broken away on one side
        sk.poly([(hw * 0.1, top + 0.01), (hw + 0.01, top + 0.01), (hw + 0.01, sh * 1.2)], HOLE)
    for x in np.linspace(-hw * 1.1, hw * 1.1, 5)[1:-1:2] if c.variant % 3 == 1 else ():
        sk.line([(x, top), (x, top + 0.08)], (40, 40, 44), 0.005)  # flag poles
        sk.poly([(x, top + 0.08), (x + 0.06, top + 0.07), (x, top + 0.055)], c.accent)
