"""Colours, per-class colour palettes and the two visual domains.

Every object class draws its main colour from a palette of *named* colours,
and the palettes overlap heavily (red cars, red balls, red cones, red shirts
and red autumn trees all exist), so colour alone does not tell the classes
apart; shape does. The names are used in the captions.

A :class:`Domain` fixes what backgrounds and lighting look like. ``default``
(pool, train and test splits) is daylight on grass/sand/road/dirt;
``shifted`` (the ``test_shifted`` split) is dusk/night light on
tiles/snow/clay/moss, with a different light tint and stronger fog.
"""
from dataclasses import dataclass
from types import MappingProxyType
from typing import Tuple

NAMED_COLORS = MappingProxyType({
    'red': (0.80, 0.10, 0.10),
    'orange': (0.95, 0.50, 0.10),
    'yellow': (0.93, 0.83, 0.15),
    'green': (0.15, 0.62, 0.20),
    'blue': (0.15, 0.30, 0.85),
    'purple': (0.50, 0.20, 0.70),
    'pink': (0.95, 0.52, 0.72),
    'white': (0.92, 0.92, 0.92),
    'black': (0.12, 0.12, 0.13),
    'grey': (0.50, 0.50, 0.52),
    'brown': (0.45, 0.28, 0.12),
})

# Main colour of each class (shirt, car body, cone body, canopy, ball).
CLASS_COLOR_NAMES = MappingProxyType({
    'person': ('red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink',
               'white', 'black', 'grey'),
    'car': ('red', 'orange', 'yellow', 'green', 'blue', 'white', 'black', 'grey'),
    'cone': ('red', 'orange', 'yellow', 'green', 'blue', 'pink', 'white'),
    'tree': ('green', 'yellow', 'orange', 'red', 'brown', 'pink', 'white'),
    'ball': ('red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink',
             'white', 'black'),
})

SKIN_TONES = ((0.96, 0.80, 0.69), (0.87, 0.67, 0.50), (0.63, 0.45, 0.30),
              (0.40, 0.27, 0.17))
TROUSER_COLORS = ('blue', 'black', 'grey', 'brown', 'green', 'white')
HAIR_COLORS = ('black', 'brown', 'yellow', 'grey')
TRUNK_COLORS = ('brown', 'grey', 'black')


@dataclass(frozen=True)
class Domain:
    """What backgrounds and lighting look like in a split.

    Args:
        name (str): ``'default'`` or ``'shifted'``.
        grounds (tuple[str]): Ground texture kinds to sample from.
        skies (tuple[str]): Sky kinds to sample from.
        ambient (tuple[float, float]): Range of the ambient light term.
        diffuse (tuple[float, float]): Range of the directional light term.
        tints (tuple[tuple[float, float, float]]): Light colours to sample.
        brightness (tuple[float, float]): Range of the global exposure.
        fog_distance (tuple[float, float]): Range (metres) of the distance at
            which fog covers 63% of a surface's colour.
    """
    name: str
    grounds: Tuple[str, ...]
    skies: Tuple[str, ...]
    ambient: Tuple[float, float]
    diffuse: Tuple[float, float]
    tints: Tuple[Tuple[float, float, float], ...]
    brightness: Tuple[float, float]
    fog_distance: Tuple[float, float]


DOMAINS = MappingProxyType({
    'default': Domain(
        name='default',
        grounds=('grass', 'sand', 'road', 'dirt'),
        skies=('clear', 'cloudy', 'hazy'),
        ambient=(0.40, 0.60),
        diffuse=(0.45, 0.70),
        tints=((1.0, 1.0, 1.0), (1.0, 0.97, 0.90), (0.95, 0.98, 1.0)),
        brightness=(0.90, 1.10),
        fog_distance=(60.0, 150.0),
    ),
    'shifted': Domain(
        name='shifted',
        grounds=('tiles', 'snow', 'clay', 'moss'),
        skies=('dusk', 'night'),
        ambient=(0.25, 0.45),
        diffuse=(0.40, 0.65),
        tints=((1.0, 0.75, 0.55), (0.65, 0.75, 1.0), (0.85, 1.0, 0.80)),
        brightness=(0.75, 0.95),
        fog_distance=(25.0, 60.0),
    ),
})

# Caption phrases for the ground kinds ("... on grass").
GROUND_PHRASES = MappingProxyType({
    'grass': 'on grass', 'sand': 'on sand', 'road': 'on a road',
    'dirt': 'on dirt', 'tiles': 'on tiles', 'snow': 'in the snow',
    'clay': 'on red clay', 'moss': 'on moss',
})
SKY_PHRASES = MappingProxyType({
    'clear': '', 'cloudy': 'under a cloudy sky', 'hazy': 'on a hazy day',
    'dusk': 'at dusk', 'night': 'at night',
})


def get_domain(name: str) -> Domain:
    """Look up a domain by name.

    Args:
        name (str): A key of :data:`DOMAINS`.

    Returns:
        Domain: The domain.

    Raises:
        KeyError: If the name is unknown (the message lists the known ones).
    """
    try:
        return DOMAINS[name]
    except KeyError:
        raise KeyError(f'unknown demo-world domain {name!r}; known: {sorted(DOMAINS)}') from None
