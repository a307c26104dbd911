"""Sampling a scene description: camera, light, background and objects.

A :class:`Scene` is plain data; :func:`projects.demo_world.demo_world.render.render_scene`
turns it into pixels. All randomness of an image is drawn here from one
``numpy.random.Generator`` (textures get their own integer seed), so a scene
is fully determined by the generator it is sampled from.

Geometry: a pinhole camera at height ``cam_height`` metres above a flat ground
plane, looking horizontally; the horizon is image row ``horizon``. A ground
point at depth ``Z`` metres projects to row ``horizon + focal * cam_height / Z``
and one metre at depth ``Z`` spans ``focal / Z`` pixels. Objects stand on the
ground at their ``depth`` and are listed far to near (painter's order).

Besides the labelled objects a scene holds *clutter*: rocks, bushes and signs
that belong to the background class. They look like the object classes in
parts (a round rock vs a ball, a bush vs a tree canopy, a triangular sign vs a
cone), so a segmentor has to learn shape and context from enough examples,
which is what gives 100 labels clear headroom below a large labelled set.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from .appearance import (CLASS_COLOR_NAMES, HAIR_COLORS, NAMED_COLORS, SKIN_TONES, TROUSER_COLORS,
                         TRUNK_COLORS, Domain)
from .metainfo import OBJECT_CLASSES

# Relative frequency of each class in a scene, by named class distribution.
# ``even``: every class common (the unlabelled pool, which plays the web-scale
# data a text-to-image model is trained on, and the balanced test splits).
# ``long_tail``: the labelled training splits, like a real benchmark's (VOC,
# COCO): a few classes make up most objects while balls and, rarer still,
# cones are a long tail, so 100 labelled images hold only a handful of them.
# Changing only the probabilities leaves every other draw of a scene in place
# (``Generator.choice`` uses one uniform number either way).
CLASS_FREQUENCIES = {
    'even': {'person': 0.26, 'car': 0.18, 'cone': 0.18, 'tree': 0.16, 'ball': 0.22},
    'long_tail': {'person': 0.37, 'car': 0.27, 'cone': 0.03, 'tree': 0.27, 'ball': 0.06},
}
# Background clutter kinds (labelled as background, never captioned).
CLUTTER_KINDS = ('rock', 'bush', 'sign')
CLUTTER_COLOR_NAMES = {
    'rock': ('grey', 'brown', 'black', 'white'),
    'bush': ('green', 'yellow', 'brown', 'orange'),
    'sign': ('red', 'orange', 'yellow', 'blue', 'white', 'green'),
}


@dataclass
class Camera:
    """Pinhole camera over a ground plane.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        horizon (float): Image row (pixel units, may be fractional) of the horizon.
        focal (float): Focal length in pixels.
        cam_height (float): Camera height above the ground in metres.
    """
    height: int
    width: int
    horizon: float
    focal: float
    cam_height: float

    def contact_row(self, depth: float) -> float:
        """Image row where the ground at ``depth`` metres is seen."""
        return self.horizon + self.focal * self.cam_height / depth

    def depth_at_row(self, row: float) -> float:
        """Ground depth in metres seen at image row ``row`` (below the horizon)."""
        return self.focal * self.cam_height / (row - self.horizon)


@dataclass
class Lighting:
    """A directional light plus ambient light, tint, exposure and fog.

    Args:
        direction (tuple[float, float, float]): Unit vector towards the light in
            image axes (x right, y down, z towards the viewer).
        ambient (float): Ambient term.
        diffuse (float): Directional term.
        tint (tuple[float, float, float]): RGB colour of the light.
        brightness (float): Global exposure factor.
        fog_distance (float): Depth (metres) where fog covers 63% of a colour.
    """
    direction: Tuple[float, float, float]
    ambient: float
    diffuse: float
    tint: Tuple[float, float, float]
    brightness: float
    fog_distance: float


@dataclass
class Background:
    """Ground and sky appearance.

    Args:
        ground (str): Ground texture kind (see :data:`appearance.DOMAINS`).
        ground_colors (list[tuple]): Two RGB colours the ground texture mixes.
        sky (str): Sky kind.
        sky_colors (list[tuple]): RGB colours at the zenith and at the horizon.
        texture_seed (int): Seed of the procedural noise of this image.
        stripe_period (float): Period (metres) of striped ground textures.
        stripe_angle (float): Direction (radians) of the stripes on the ground.
    """
    ground: str
    ground_colors: List[Tuple[float, float, float]]
    sky: str
    sky_colors: List[Tuple[float, float, float]]
    texture_seed: int
    stripe_period: float
    stripe_angle: float


@dataclass
class ObjectSpec:
    """One object standing on the ground.

    Args:
        category (str): One of :data:`metainfo.OBJECT_CLASSES`.
        x (float): Image column of the ground contact point (pixels).
        depth (float): Depth of the contact point in metres.
        color_name (str): Name of the main colour (used in captions).
        color (tuple[float, float, float]): Jittered main RGB colour in [0, 1].
        params (dict): Class-specific shape parameters (sizes in metres,
            angles in radians, secondary colours).
    """
    category: str
    x: float
    depth: float
    color_name: str
    color: Tuple[float, float, float]
    params: Dict = field(default_factory=dict)


@dataclass
class Scene:
    """A full scene description.

    Args:
        camera (Camera): The camera.
        lighting (Lighting): The light.
        background (Background): Ground and sky.
        objects (list[ObjectSpec]): Objects, far to near.
        domain (str): Name of the domain it was sampled from.
        clutter (list[ObjectSpec]): Background clutter (``category`` in
            :data:`CLUTTER_KINDS`), far to near; drawn in depth order with the
            objects but labelled as background.
    """
    camera: Camera
    lighting: Lighting
    background: Background
    objects: List[ObjectSpec]
    domain: str
    clutter: List[ObjectSpec] = field(default_factory=list)


def _jitter_color(rng: np.random.Generator, rgb, amount: float = 0.06) -> Tuple[float, ...]:
    base = np.asarray(rgb, dtype=np.float64)
    out = base * rng.uniform(0.85, 1.12) + rng.uniform(-amount, amount, size=3)
    return tuple(float(v) for v in np.clip(out, 0.0, 1.0))


def _named_color(rng: np.random.Generator, names) -> Tuple[str, Tuple[float, ...]]:
    name = names[int(rng.integers(len(names)))]
    return name, _jitter_color(rng, NAMED_COLORS[name])


_GROUND_BASE = {
    'grass': ((0.20, 0.45, 0.15), (0.35, 0.60, 0.20)),
    'sand': ((0.80, 0.70, 0.48), (0.90, 0.82, 0.60)),
    'road': ((0.28, 0.28, 0.30), (0.42, 0.42, 0.44)),
    'dirt': ((0.40, 0.30, 0.20), (0.55, 0.42, 0.28)),
    'tiles': ((0.70, 0.70, 0.75), (0.25, 0.30, 0.45)),
    'snow': ((0.85, 0.88, 0.95), (0.97, 0.97, 1.00)),
    'clay': ((0.62, 0.25, 0.15), (0.78, 0.42, 0.25)),
    'moss': ((0.30, 0.40, 0.20), (0.45, 0.30, 0.50)),
}
_SKY_BASE = {
    'clear': ((0.25, 0.50, 0.90), (0.70, 0.85, 0.98)),
    'cloudy': ((0.60, 0.65, 0.72), (0.85, 0.87, 0.90)),
    'hazy': ((0.65, 0.75, 0.85), (0.92, 0.90, 0.85)),
    'dusk': ((0.25, 0.15, 0.40), (0.95, 0.55, 0.30)),
    'night': ((0.02, 0.03, 0.10), (0.12, 0.15, 0.30)),
}


def _sample_params(rng: np.random.Generator, category: str) -> Dict:
    """Class-specific shape parameters (metres / radians / colours)."""
    u = rng.uniform
    if category == 'person':
        _, trousers = _named_color(rng, TROUSER_COLORS)
        _, hair = _named_color(rng, HAIR_COLORS)
        skin = _jitter_color(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 0.03)
        return dict(
            height=u(1.5, 1.95),
            lean=u(-0.2, 0.2),
            # per side (left, right): upper-arm angle from hanging, elbow bend,
            # thigh angle from vertical, knee bend; positive = away from body.
            arm=[u(-0.25, 2.7), u(-0.25, 2.7)],
            elbow=[u(-0.4, 2.2), u(-0.4, 2.2)],
            thigh=[u(-0.25, 0.65), u(-0.25, 0.65)],
            knee=[u(-0.8, 0.3), u(-0.8, 0.3)],
            build=u(0.85, 1.2),
            trousers=trousers, hair=hair, skin=skin)
    if category == 'car':
        return dict(length=u(3.6, 4.8), height=u(1.3, 1.7), width=u(1.7, 2.0),
                    view=('side', 'side', 'front')[int(rng.integers(3))],
                    facing=1 if rng.random() < 0.5 else -1,
                    cabin=(u(0.15, 0.3), u(0.65, 0.85)))
    if category == 'cone':
        stripe_name = 'black' if rng.random() < 0.4 else 'white'
        return dict(height=u(0.8, 1.5), base=u(0.26, 0.36),
                    stripe=_jitter_color(rng, NAMED_COLORS[stripe_name], 0.03),
                    stripe_pos=u(0.4, 0.6))
    if category == 'tree':
        _, trunk = _named_color(rng, TRUNK_COLORS)
        return dict(height=u(2.5, 5.5), kind=('round', 'pine')[int(rng.integers(2))],
                    trunk=trunk, trunk_width=u(0.06, 0.11), trunk_height=u(0.3, 0.5),
                    spread=u(0.22, 0.36), tiers=int(rng.integers(2, 4)))
    if category == 'ball':
        _, second = _named_color(rng, CLASS_COLOR_NAMES['ball'])
        return dict(radius=u(0.3, 0.65), pattern=('plain', 'halves', 'band')[int(rng.integers(3))],
                    second=second, pattern_angle=u(0, np.pi))
    if category == 'rock':
        # an irregular squat blob: radius jitter of its outline polygon
        return dict(radius=u(0.25, 0.7), squash=u(0.45, 0.8),
                    bumps=[float(v) for v in u(0.75, 1.2, size=9)])
    if category == 'bush':
        count = int(rng.integers(2, 5))
        return dict(height=u(0.5, 1.3), width=u(0.8, 2.0),
                    lobes=[(float(u(-0.4, 0.4)), float(u(0.3, 0.8)), float(u(0.25, 0.45)))
                           for _ in range(count)])
    if category == 'sign':
        _, pole = _named_color(rng, ('grey', 'white', 'black'))
        return dict(height=u(1.4, 2.6), plate=u(0.35, 0.7),
                    shape=('triangle', 'disc', 'square')[int(rng.integers(3))], pole=pole)
    raise ValueError(f'unknown demo-world class {category!r}; known: {OBJECT_CLASSES} '
                     f'and clutter {CLUTTER_KINDS}')


def sample_scene(rng: np.random.Generator, domain: Domain, size: Tuple[int, int] = (64, 64),
                 num_objects: Tuple[int, int] = (2, 6),
                 num_clutter: Tuple[int, int] = (1, 4),
                 class_frequency: str = 'long_tail') -> Scene:
    """Sample a scene description.

    Args:
        rng (numpy.random.Generator): The only source of randomness.
        domain (Domain): Background and lighting style.
        size (tuple[int, int]): Image ``(height, width)`` in pixels.
        num_objects (tuple[int, int]): Inclusive range of the object count.
        num_clutter (tuple[int, int]): Inclusive range of the clutter count.
        class_frequency (str): Key of :data:`CLASS_FREQUENCIES`: how often
            each class is drawn.

    Returns:
        Scene: The scene, objects and clutter each sorted far to near.
    """
    if class_frequency not in CLASS_FREQUENCIES:
        raise ValueError(f'unknown class_frequency {class_frequency!r}; expected one of '
                         f'{sorted(CLASS_FREQUENCIES)}')
    height, width = int(size[0]), int(size[1])
    if height < 16 or width < 16:
        raise ValueError(f'demo-world images must be at least 16x16, got {height}x{width}')
    u = rng.uniform
    camera = Camera(height=height, width=width, horizon=u(0.28, 0.48) * height,
                    focal=u(0.9, 1.25) * width, cam_height=u(1.3, 2.0))

    azimuth = u(-1.0, 1.0)
    elevation = u(0.35, 1.2)
    direction = np.array([np.sin(azimuth) * np.cos(elevation), -np.sin(elevation),
                          np.cos(azimuth) * np.cos(elevation) + 0.3])
    direction /= np.linalg.norm(direction)
    tint = domain.tints[int(rng.integers(len(domain.tints)))]
    lighting = Lighting(direction=tuple(float(v) for v in direction),
                        ambient=u(*domain.ambient), diffuse=u(*domain.diffuse),
                        tint=_jitter_color(rng, tint, 0.03), brightness=u(*domain.brightness),
                        fog_distance=u(*domain.fog_distance))

    ground = domain.grounds[int(rng.integers(len(domain.grounds)))]
    sky = domain.skies[int(rng.integers(len(domain.skies)))]
    background = Background(
        ground=ground, ground_colors=[_jitter_color(rng, c) for c in _GROUND_BASE[ground]],
        sky=sky, sky_colors=[_jitter_color(rng, c, 0.04) for c in _SKY_BASE[sky]],
        texture_seed=int(rng.integers(2**31)), stripe_period=u(0.6, 2.5),
        stripe_angle=u(-0.6, 0.6))

    # Objects: ground contact row uniform between "a few rows under the
    # horizon" (at most 25 m away) and "a bit below the bottom edge" (cut off).
    row_far = max(camera.contact_row(25.0), camera.horizon + max(2.0, 0.05 * height))
    row_near = 1.12 * height
    weights = CLASS_FREQUENCIES[class_frequency]
    names = list(OBJECT_CLASSES)
    probs = np.array([weights[n] for n in names])
    count = int(rng.integers(num_objects[0], num_objects[1] + 1))
    objects = []
    for _ in range(count):
        category = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        depth = float(camera.depth_at_row(u(row_far, row_near)))
        x = u(-0.1, 1.1) * width
        color_name, color = _named_color(rng, CLASS_COLOR_NAMES[category])
        objects.append(ObjectSpec(category=category, x=float(x), depth=depth,
                                  color_name=color_name, color=color,
                                  params=_sample_params(rng, category)))
    objects.sort(key=lambda o: -o.depth)
    clutter = []
    for _ in range(int(rng.integers(num_clutter[0], num_clutter[1] + 1))):
        kind = CLUTTER_KINDS[int(rng.integers(len(CLUTTER_KINDS)))]
        depth = float(camera.depth_at_row(u(row_far, row_near)))
        color_name, color = _named_color(rng, CLUTTER_COLOR_NAMES[kind])
        clutter.append(ObjectSpec(category=kind, x=float(u(-0.1, 1.1) * width), depth=depth,
                                  color_name=color_name, color=color,
                                  params=_sample_params(rng, kind)))
    clutter.sort(key=lambda o: -o.depth)
    return Scene(camera=camera, lighting=lighting, background=background, objects=objects,
                 domain=domain.name, clutter=clutter)
