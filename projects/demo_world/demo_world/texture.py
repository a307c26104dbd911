"""Procedural textures: value noise, ground textures and skies.

Ground textures are evaluated in ground-plane coordinates (metres), so stripes,
tiles and blotches shrink towards the horizon with the right perspective.
"""
from typing import Tuple

import numpy as np

from .scene import Background, Camera

_TABLE_SIZE = 64


def noise_table(rng: np.random.Generator, size: int = _TABLE_SIZE) -> np.ndarray:
    """A random lattice for :func:`value_noise`.

    Args:
        rng (numpy.random.Generator): Source of randomness.
        size (int): Lattice side; the noise tiles with this period.

    Returns:
        numpy.ndarray: float32 array of shape (size, size) in [0, 1).
    """
    return rng.random((size, size), dtype=np.float32)


def value_noise(table: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smoothly interpolated lattice noise.

    Args:
        table (numpy.ndarray): Lattice of shape (N, N) from :func:`noise_table`.
        x (numpy.ndarray): Sample x coordinates in lattice units, any shape.
        y (numpy.ndarray): Sample y coordinates, same shape as ``x``.

    Returns:
        numpy.ndarray: Noise in [0, 1), same shape as ``x``.
    """
    n = table.shape[0]
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0
    fy = y - y0
    fx = fx * fx * (3 - 2 * fx)
    fy = fy * fy * (3 - 2 * fy)
    ix = x0.astype(np.int64) % n
    iy = y0.astype(np.int64) % n
    ix1 = (ix + 1) % n
    iy1 = (iy + 1) % n
    top = table[iy, ix] * (1 - fx) + table[iy, ix1] * fx
    bottom = table[iy1, ix] * (1 - fx) + table[iy1, ix1] * fx
    return top * (1 - fy) + bottom * fy


def fbm(table: np.ndarray, x: np.ndarray, y: np.ndarray, octaves: int = 3) -> np.ndarray:
    """Fractal sum of :func:`value_noise` octaves, normalised to [0, 1).

    Args:
        table (numpy.ndarray): Noise lattice.
        x (numpy.ndarray): x coordinates (lattice units at the first octave).
        y (numpy.ndarray): y coordinates.
        octaves (int): Number of octaves (frequency doubles, amplitude halves).

    Returns:
        numpy.ndarray: Noise, same shape as ``x``.
    """
    total = np.zeros_like(x, dtype=np.float32)
    amp, norm, freq = 1.0, 0.0, 1.0
    for octave in range(octaves):
        # offset each octave so they do not share lattice points
        total += amp * value_noise(table, x * freq + 17.3 * octave, y * freq + 5.9 * octave)
        norm += amp
        amp *= 0.5
        freq *= 2.0
    return total / norm


def _mix(c0, c1, t: np.ndarray) -> np.ndarray:
    c0 = np.asarray(c0, dtype=np.float32)
    c1 = np.asarray(c1, dtype=np.float32)
    return c0 + (c1 - c0) * t[..., None]


def ground_texture(background: Background, world_x: np.ndarray, world_z: np.ndarray,
                   table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Albedo of the ground at ground-plane points.

    Args:
        background (Background): Ground kind, colours and stripe parameters.
        world_x (numpy.ndarray): Lateral ground coordinates in metres, shape (N,).
        world_z (numpy.ndarray): Depths in metres, shape (N,).
        table (numpy.ndarray): Noise lattice of this image.
        rng (numpy.random.Generator): Texture randomness of this image.

    Returns:
        numpy.ndarray: float32 RGB albedo of shape (N, 3) in [0, 1].
    """
    c0, c1 = background.ground_colors
    kind = background.ground
    theta = background.stripe_angle
    along = world_x * np.sin(theta) + world_z * np.cos(theta)
    blotch = fbm(table, world_x * 0.6, world_z * 0.6, octaves=3)
    fine = fbm(table, world_x * 6.0 + 31.0, world_z * 6.0, octaves=2)
    if kind in ('grass', 'snow'):
        t = 0.55 * blotch + 0.45 * fine
        if kind == 'snow':
            t = 0.5 + 0.4 * (t - 0.5)
    elif kind in ('sand', 'clay'):
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * along / background.stripe_period + 4.0 * blotch)
        t = 0.7 * wave + 0.3 * fine
    elif kind == 'road':
        t = 0.3 * blotch + 0.7 * fine
    elif kind in ('dirt', 'moss'):
        t = np.clip((blotch - 0.5) * 4.0 + 0.5, 0, 1) * 0.8 + 0.2 * fine
    elif kind == 'tiles':
        p = background.stripe_period
        checker = (np.floor(world_x / p) + np.floor(world_z / p)) % 2
        t = 0.85 * checker + 0.15 * fine
    else:
        raise ValueError(f'unknown ground kind {kind!r}')
    albedo = _mix(c0, c1, t.astype(np.float32))
    if kind == 'road':
        lane = float(rng.uniform(-2.5, 2.5))
        marks = (np.abs(world_x - lane) < 0.09) & ((world_z % 3.0) < 1.6)
        albedo[marks] = (0.9, 0.9, 0.85)
    if kind == 'tiles':
        p = background.stripe_period
        grout = (np.abs(world_x / p - np.round(world_x / p)) < 0.04) | \
                (np.abs(world_z / p - np.round(world_z / p)) < 0.04)
        albedo[grout] *= 0.5
    return albedo


def sky_texture(background: Background, camera: Camera, rows: np.ndarray, cols: np.ndarray,
                table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour of the sky at image points above the horizon.

    Args:
        background (Background): Sky kind and colours.
        camera (Camera): Camera (for the horizon row).
        rows (numpy.ndarray): Pixel-centre rows, shape (N,).
        cols (numpy.ndarray): Pixel-centre columns, shape (N,).
        table (numpy.ndarray): Noise lattice of this image.
        rng (numpy.random.Generator): Texture randomness of this image.

    Returns:
        numpy.ndarray: float32 RGB of shape (N, 3).
    """
    zenith, horizon = background.sky_colors
    t = np.clip(rows / max(camera.horizon, 1.0), 0, 1).astype(np.float32)
    sky = _mix(zenith, horizon, t)
    scale = 8.0 / camera.width
    if background.sky in ('cloudy', 'hazy', 'dusk'):
        clouds = fbm(table, cols * scale + 40.0, rows * scale * 2.5, octaves=3)
        amount = {'cloudy': 0.9, 'hazy': 0.4, 'dusk': 0.5}[background.sky]
        cover = np.clip((clouds - 0.45) * 2.5, 0, 1) * amount
        cloud_color = np.array(
            (0.93, 0.93, 0.95) if background.sky != 'dusk' else (0.75, 0.45, 0.5), dtype=np.float32)
        sky = sky + (cloud_color - sky) * cover[:, None]
    if background.sky == 'night':
        stars = rng.random(rows.shape) < 0.02
        sky[stars] = (0.9, 0.9, 0.8)
    return sky


def ground_coordinates(camera: Camera, rows: np.ndarray, cols: np.ndarray,
                       max_depth: float) -> Tuple[np.ndarray, np.ndarray]:
    """Ground-plane coordinates of pixel centres below the horizon.

    Args:
        camera (Camera): The camera.
        rows (numpy.ndarray): Pixel-centre rows (all below the horizon).
        cols (numpy.ndarray): Pixel-centre columns.
        max_depth (float): Depths are clipped to this many metres.

    Returns:
        tuple[numpy.ndarray, numpy.ndarray]: lateral coordinate and depth in
        metres (float32).
    """
    depth = np.minimum(camera.focal * camera.cam_height / (rows - camera.horizon), max_depth)
    lateral = (cols - camera.width / 2.0) * depth / camera.focal
    return lateral.astype(np.float32), depth.astype(np.float32)
