"""Composing a demo photo around a landmark: sky, ground, background, occluders, light, camera.

`render_photo` places a landmark drawn by `glr.demo.landmarks` in a random scene and
changes what a real photo changes: viewpoint, distance, crop, sky, light, weather,
things in front of it, camera noise. Everything random comes from one generator.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from glr.demo.landmark_cache import draw_landmark  # drawn once per class where its photos share it
from glr.demo.sketch import LandmarkClass, mix, shade

# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------

# The photo width `render_photo` draws unless told; `glr.demo.dataset` takes it as the dataset's default.
DEFAULT_IMAGE_SIZE = 256

# Photos are `image_size` wide; their height varies (landscape, square, portrait).
ASPECTS = (0.75, 1.0, 1.25)

# Skies by time of day: (top colour, horizon colour, light colour cast, weight).
SKIES = (
    ((62, 120, 205), (175, 205, 238), (1.00, 1.00, 1.00), 4),   # clear day
    ((38, 92, 190), (140, 190, 240), (1.04, 1.02, 0.98), 2),    # deep blue noon
    ((140, 146, 158), (196, 198, 204), (0.92, 0.94, 0.98), 3),  # overcast
    ((58, 56, 124), (246, 150, 86), (1.12, 0.95, 0.80), 2),     # dusk
    ((118, 146, 206), (248, 204, 170), (1.06, 1.00, 0.92), 2),  # dawn
    ((14, 20, 48), (48, 58, 96), (0.62, 0.66, 0.82), 1),        # night
)
SKY_WEIGHTS = np.asarray([sky[3] for sky in SKIES], float) / sum(sky[3] for sky in SKIES)
GROUNDS = (
    (82, 122, 62),    # grass
    (128, 128, 124),  # pavement
    (196, 178, 138),  # sand
    (52, 92, 128),    # water
    (222, 226, 232),  # snow
    (116, 98, 76),    # dirt
)


# ---------------------------------------------------------------------------------------
# Composing a photo around it
# ---------------------------------------------------------------------------------------


def _jitter(rng, color, amount):
    return tuple(int(np.clip(v + rng.uniform(-amount, amount), 0, 255)) for v in color)


def _perspective_coeffs(dst, src):
    """Coefficients for Image.transform(PERSPECTIVE): they map output points back to input points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float)).tolist()


def _warp(layer: Image.Image, rng) -> Image.Image:
    """A change of viewpoint: keystone (looking up), shear (walking sideways), slight yaw."""
    w, h = layer.size
    keystone = rng.uniform(0.0, 0.08) * w      # the top recedes when you look up at it
    shear = rng.uniform(-0.1, 0.1) * h         # leaning, as from off-axis
    yaw = rng.uniform(-0.06, 0.06) * h         # one side nearer than the other
    dst = [(keystone + shear, max(yaw, 0)), (w - keystone + shear, max(-yaw, 0)), (w, h), (0, h)]
    xs = [p[0] for p in dst]
    left = min(xs)
    dst = [(x - left, y) for x, y in dst]
    size = (int(math.ceil(max(xs) - left)) + 1, h)
    coeffs = _perspective_coeffs(dst, [(0, 0), (w, 0), (w, h), (0, h)])
    return layer.transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)


def _vertical_gradient(height, width, top, bottom, power=1.0):
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None] ** power
    row = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.broadcast_to(row, (height, width, 3))


def _draw_tree(d, rng, x, base, size):
    trunk = _jitter(rng, (82, 62, 44), 15)
    leaves = _jitter(rng, (52, 96, 48), 25)
    d.rectangle([x - size * 0.04, base - size * 0.45, x + size * 0.04, base], fill=trunk)
    if rng.random() < 0.35:  # a conifer
        for k in range(3):
            y = base - size * (0.25 + 0.22 * k)
            d.polygon([(x - size * (0.3 - 0.07 * k), y), (x + size * (0.3 - 0.07 * k), y),
                       (x, y - size * 0.4)], fill=shade(leaves, 0.9 + 0.1 * k))
        return
    for _ in range(5):  # a broadleaf crown of overlapping blobs
        cx = x + rng.uniform(-0.2, 0.2) * size
        cy = base - size * rng.uniform(0.55, 0.85)
        rr = size * rng.uniform(0.15, 0.26)
        d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=shade(leaves, rng.uniform(0.75, 1.15)))


def _draw_person(d, rng, x, base, size):
    color = _jitter(rng, (50, 50, 60), 40)
    head = size * 0.1
    d.ellipse([x - head, base - size, x + head, base - size + 2 * head], fill=shade(color, 1.3))
    d.polygon([(x - size * 0.14, base - size * 0.8), (x + size * 0.14, base - size * 0.8),
               (x + size * 0.1, base - size * 0.4), (x - size * 0.1, base - size * 0.4)], fill=color)
    d.rectangle([x - size * 0.09, base - size * 0.42, x + size * 0.09, base], fill=shade(color, 0.6))


def _draw_car(d, rng, x, base, size):
    color = tuple(int(v) for v in rng.integers(20, 230, 3))
    d.rounded_rectangle([x - size, base - size * 0.45, x + size, base - size * 0.12],
                        radius=size * 0.1, fill=color)
    d.polygon([(x - size * 0.55, base - size * 0.45), (x - size * 0.35, base - size * 0.75),
               (x + size * 0.4, base - size * 0.75), (x + size * 0.65, base - size * 0.45)],
              fill=shade(color, 0.8))
    for wx in (x - size * 0.6, x + size * 0.6):
        d.ellipse([wx - size * 0.18, base - size * 0.3, wx + size * 0.18, base + size * 0.05], fill=(20, 20, 22))


def _draw_lamp(d, rng, x, base, size):
    color = _jitter(rng, (40, 44, 40), 15)
    d.rectangle([x - size * 0.015, base - size, x + size * 0.015, base], fill=color)
    d.line([(x, base - size), (x + size * 0.12, base - size * 1.02)], fill=color, width=max(1, int(size * 0.02)))
    d.ellipse([x + size * 0.08, base - size * 1.04, x + size * 0.18, base - size * 0.96], fill=(250, 236, 180))


def _draw_building(d, rng, x0, x1, base, top):
    color = _jitter(rng, (150, 140, 128), 50)
    d.rectangle([x0, top, x1, base], fill=color)
    rows, cols = int(rng.integers(2, 8)), int(rng.integers(2, 6))
    cw, ch = (x1 - x0) / cols, (base - top) / rows
    glass = _jitter(rng, (60, 70, 84), 25)
    for i in range(rows):
        for j in range(cols):
            d.rectangle([x0 + (j + 0.25) * cw, top + (i + 0.25) * ch, x0 + (j + 0.7) * cw,
                         top + (i + 0.7) * ch], fill=glass)


OCCLUDERS = (  # (drawer, probability of appearing, how many at most, size as a share of height)
    (_draw_tree, 0.45, 3, (0.25, 0.6)),
    (_draw_person, 0.35, 6, (0.08, 0.22)),
    (_draw_car, 0.25, 3, (0.06, 0.14)),
    (_draw_lamp, 0.25, 2, (0.25, 0.5)),
)


def _sky_and_ground(rng, width, height, horizon, sky_top, sky_low, ground) -> Image.Image:
    """Gradients for sky and ground (the ground fades into haze near the horizon), and clouds."""
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:horizon] = _vertical_gradient(horizon, width, sky_top, sky_low, 0.8)
    canvas[horizon:] = _vertical_gradient(height - horizon, width, mix(ground, sky_low, 0.4), shade(ground, 0.8))
    scene = Image.fromarray(canvas.astype(np.uint8))
    if rng.random() < 0.6:  # clouds: soft white blobs, blurred on their own mask
        clouds = Image.new("L", (width, height), 0)
        dc = ImageDraw.Draw(clouds)
        for _ in range(int(rng.integers(2, 9))):
            cx, cy = rng.uniform(0, width), rng.uniform(0, horizon * 0.7)
            rx, ry = rng.uniform(0.05, 0.25) * width, rng.uniform(0.02, 0.06) * height
            dc.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=int(rng.integers(90, 220)))
        clouds = clouds.filter(ImageFilter.GaussianBlur(width * 0.02))
        scene.paste(mix(sky_low, (250, 250, 250), 0.7), (0, 0), clouds)
    return scene


def _background(d, rng, width, height, horizon, sky_low, ground) -> None:
    """Clutter behind the landmark: hills, a distant skyline, nearer ordinary buildings."""
    if rng.random() < 0.5:
        xs = np.linspace(0, width, 9)
        ys = horizon - height * np.abs(np.cumsum(rng.normal(0, 0.04, 9))) - height * 0.02
        d.polygon([(0, horizon)] + list(zip(xs, ys)) + [(width, horizon)], fill=mix(ground, sky_low, 0.55))
    if rng.random() < 0.5:
        x = rng.uniform(-20, 0)
        while x < width:
            w = rng.uniform(0.04, 0.1) * width
            d.rectangle([x, horizon - rng.uniform(0.03, 0.16) * height, x + w, horizon + 1],
                        fill=mix((110, 110, 118), sky_low, rng.uniform(0.4, 0.7)))
            x += w + rng.uniform(0, 0.05) * width
    for _ in range(int(rng.integers(0, 3))):
        x0 = rng.uniform(-0.2, 0.9) * width
        _draw_building(d, rng, x0, x0 + rng.uniform(0.12, 0.3) * width, horizon + height * 0.03,
                       horizon - rng.uniform(0.1, 0.4) * height)


def _place_landmark(scene, cls, rng, horizon) -> None:
    """Draw the landmark large, mirror it or not, scale it, change the viewpoint, paste it."""
    width, height = scene.size
    layer = draw_landmark(cls, int(width * 1.5), rng)
    if rng.random() < 0.5:
        layer = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # light from the other side
    # Tall landmarks fill 50-100% of the frame height; wide ones are limited by the width.
    # Either may overflow the frame a little: a crop, as in a close-up.
    target_h = height * rng.uniform(0.5, 1.0)
    scale = min(target_h / layer.height, width * rng.uniform(0.75, 1.2) / layer.width)
    layer = layer.resize((max(2, int(layer.width * scale)), max(2, int(layer.height * scale))),
                         Image.Resampling.BILINEAR)
    layer = _warp(layer, rng)
    # Off-centre, and standing a little below the horizon (nearer) or on it (farther).
    base = horizon + height * rng.uniform(0.0, 0.12)
    cx = width * rng.uniform(0.28, 0.72)
    scene.paste(layer, (int(cx - layer.width / 2), int(base - layer.height)), layer)


def _foreground(d, rng, width, height, horizon) -> None:
    """Things between the camera and the landmark: trees, people, cars, lamp posts."""
    for drawer, chance, most, (lo, hi) in OCCLUDERS:
        if rng.random() < chance:
            for _ in range(int(rng.integers(1, most + 1))):
                foot = rng.uniform(horizon + 0.04 * height, height * 1.02)
                drawer(d, rng, rng.uniform(0, width), foot, height * rng.uniform(lo, hi))


def _light_and_weather(scene, rng, cast, haze_color) -> Image.Image:
    """Exposure, contrast, colour cast; a little haze always, sometimes fog or rain."""
    img = np.asarray(scene, np.float32)
    # The time of day sets the cast; white balance and exposure vary on top of it.
    gains = np.asarray(cast) * rng.uniform(0.92, 1.08, 3) * rng.uniform(0.75, 1.2)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.75, 1.2) + mean
    img *= gains
    haze = rng.uniform(0.0, 0.2)
    img = img * (1 - haze) + np.asarray(haze_color, np.float32) * haze
    if rng.random() < 0.12:  # fog: thicker towards the top of the frame (farther away)
        fog = np.linspace(rng.uniform(0.35, 0.55), rng.uniform(0.15, 0.3), scene.height, dtype=np.float32)
        img = img * (1 - fog[:, None, None]) + np.float32(200) * fog[:, None, None]
    scene = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.12:  # rain: faint slanted streaks
        rain = Image.new("L", scene.size, 0)
        dr = ImageDraw.Draw(rain)
        slant = rng.uniform(-0.3, 0.3)
        for _ in range(int(rng.integers(150, 400))):
            x, y, length = rng.uniform(-20, scene.width), rng.uniform(0, scene.height), rng.uniform(6, 16)
            dr.line([(x, y), (x + slant * length, y + length)], fill=int(rng.integers(60, 130)))
        scene.paste((215, 218, 225), (0, 0), rain)
    return scene


def _camera(scene, rng) -> Image.Image:
    """Focus blur and sensor noise (colour or luminance); JPEG quality is the writer's."""
    if rng.random() < 0.4:
        scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    sigma = rng.uniform(1, 6)
    channels = 1 if rng.random() < 0.5 else 3
    img = np.asarray(scene, np.float32) + rng.normal(0, sigma, (scene.height, scene.width, channels))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def render_photo(cls: LandmarkClass | None, rng: np.random.Generator, width: int = DEFAULT_IMAGE_SIZE) -> Image.Image:
    """One photo of `cls`: the landmark in a random scene, light, weather and camera.

    With `cls=None` the same kind of street scene is drawn with no landmark in it: the
    "not a landmark" photo that most real uploads are. Everything random comes from `rng`,
    so a photo is reproducible from its generator's seed.
    """
    height = int(round(width * float(rng.choice(ASPECTS)) / 8)) * 8
    sky_top, sky_low, cast, _ = SKIES[rng.choice(len(SKIES), p=SKY_WEIGHTS)]
    sky_top, sky_low = _jitter(rng, sky_top, 20), _jitter(rng, sky_low, 20)
    ground = _jitter(rng, GROUNDS[rng.integers(len(GROUNDS))], 20)
    horizon = int(height * rng.uniform(0.55, 0.85))

    scene = _sky_and_ground(rng, width, height, horizon, sky_top, sky_low, ground)
    d = ImageDraw.Draw(scene)
    _background(d, rng, width, height, horizon, sky_low, ground)
    if cls is not None:
        _place_landmark(scene, cls, rng, horizon)
    else:  # ordinary buildings take the landmark's place in the middle of the frame
        for _ in range(int(rng.integers(1, 4))):
            x0 = rng.uniform(0.0, 0.7) * width
            _draw_building(d, rng, x0, x0 + rng.uniform(0.15, 0.4) * width, horizon + height * 0.05,
                           horizon - rng.uniform(0.2, 0.6) * height)
    _foreground(d, rng, width, height, horizon)
    scene = _light_and_weather(scene, rng, cast, sky_low)
    return _camera(scene, rng)
