"""Rasterised 2-D primitives with pseudo-3-D surface normals.

Each primitive returns a boolean coverage mask over the image (a pixel is
covered when its centre is inside) and a unit normal per pixel, shape
(3, H, W) in image axes (x right, y down, z towards the viewer), used by the
renderer for directional shading.
"""
from typing import Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

# Radii are at least half a pixel diagonal, so every pixel that a capsule's
# axis passes through is covered (keypoints at joints lie on their own limb).
MIN_RADIUS = 0.75


class PixelGrid:
    """Pixel-centre coordinates of an image.

    Args:
        height (int): Image height.
        width (int): Image width.
    """

    def __init__(self, height: int, width: int):
        self.height = height
        self.width = width
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.x = xs + 0.5
        self.y = ys + 0.5


def _sphere_normal(dx: np.ndarray, dy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Normal of a bulge whose rim is at ``dx**2 + dy**2 == 1``."""
    rr = np.clip(dx * dx + dy * dy, 0, 1)
    normal = np.stack([dx, dy, np.sqrt(1 - rr)]).astype(np.float32)
    normal /= np.maximum(np.linalg.norm(normal, axis=0, keepdims=True), 1e-6)
    normal[:, ~mask] = 0
    return normal


def capsule(grid: PixelGrid, p0: Sequence[float], p1: Sequence[float],
            radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """A segment thickened by ``radius`` (a limb), shaded as a cylinder.

    Args:
        grid (PixelGrid): Pixel coordinates.
        p0 (Sequence[float]): First end point ``(x, y)`` in pixels.
        p1 (Sequence[float]): Second end point.
        radius (float): Radius in pixels (at least :data:`MIN_RADIUS`).

    Returns:
        tuple[numpy.ndarray, numpy.ndarray]: mask (H, W) bool and normal (3, H, W).
    """
    radius = max(float(radius), MIN_RADIUS)
    ax, ay = float(p0[0]), float(p0[1])
    vx, vy = float(p1[0]) - ax, float(p1[1]) - ay
    length2 = vx * vx + vy * vy
    px = grid.x - ax
    py = grid.y - ay
    if length2 > 0:
        t = np.clip((px * vx + py * vy) / length2, 0, 1)
    else:
        t = np.zeros_like(px)
    dx = (px - t * vx) / radius
    dy = (py - t * vy) / radius
    mask = dx * dx + dy * dy <= 1.0
    return mask, _sphere_normal(dx, dy, mask)


def ellipse(grid: PixelGrid, center: Sequence[float], rx: float,
            ry: float) -> Tuple[np.ndarray, np.ndarray]:
    """A filled axis-aligned ellipse, shaded as an ellipsoid.

    Args:
        grid (PixelGrid): Pixel coordinates.
        center (Sequence[float]): Centre ``(x, y)`` in pixels.
        rx (float): Horizontal radius in pixels.
        ry (float): Vertical radius in pixels.

    Returns:
        tuple[numpy.ndarray, numpy.ndarray]: mask (H, W) bool and normal (3, H, W).
    """
    rx = max(float(rx), MIN_RADIUS)
    ry = max(float(ry), MIN_RADIUS)
    dx = (grid.x - float(center[0])) / rx
    dy = (grid.y - float(center[1])) / ry
    mask = dx * dx + dy * dy <= 1.0
    return mask, _sphere_normal(dx, dy, mask)


def polygon_mask(grid: PixelGrid, points: Sequence[Sequence[float]]) -> np.ndarray:
    """Coverage of a polygon (PIL's rasteriser, pixel-centre convention).

    Args:
        grid (PixelGrid): Pixel coordinates (for the image size).
        points (Sequence[Sequence[float]]): Vertices ``(x, y)`` in pixels.

    Returns:
        numpy.ndarray: bool mask of shape (H, W).
    """
    canvas = Image.new('L', (grid.width, grid.height), 0)
    # PIL puts pixel (i, j)'s centre at integer coordinates: shift by half a pixel.
    ImageDraw.Draw(canvas).polygon([(float(x) - 0.5, float(y) - 0.5) for x, y in points],
                                   fill=1)
    return np.asarray(canvas, dtype=bool)


def cylinder_normal(grid: PixelGrid, mask: np.ndarray, axis_x: float, half_width: np.ndarray,
                    tilt: float = 0.0) -> np.ndarray:
    """Normals of a vertical cylinder-like surface (cone, trunk, car body).

    Args:
        grid (PixelGrid): Pixel coordinates.
        mask (numpy.ndarray): Pixels of the surface, (H, W) bool.
        axis_x (float): Column of the vertical axis.
        half_width (numpy.ndarray | float): Half width at each pixel (broadcastable to (H, W)).
        tilt (float): Upward tilt of the surface (a cone leans back: > 0).

    Returns:
        numpy.ndarray: Normals of shape (3, H, W), zero outside ``mask``.
    """
    dx = np.clip((grid.x - axis_x) / np.maximum(half_width, 1e-3), -1, 1)
    normal = np.stack([dx, np.full_like(dx, -tilt), np.sqrt(1 - dx * dx)]).astype(np.float32)
    normal /= np.maximum(np.linalg.norm(normal, axis=0, keepdims=True), 1e-6)
    normal[:, ~mask] = 0
    return normal


def flat_normal(mask: np.ndarray, normal: Sequence[float]) -> np.ndarray:
    """A constant normal over ``mask``.

    Args:
        mask (numpy.ndarray): (H, W) bool.
        normal (Sequence[float]): The normal (normalised here).

    Returns:
        numpy.ndarray: Normals of shape (3, H, W), zero outside ``mask``.
    """
    n = np.asarray(normal, dtype=np.float32)
    n = n / np.linalg.norm(n)
    out = np.zeros((3, ) + mask.shape, dtype=np.float32)
    out[:, mask] = n[:, None]
    return out
