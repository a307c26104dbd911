"""Tiling images of any sizes into one grid image (and writing it as PNG)."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class GridGeometry:
    """Where the tiles of a grid go.

    Every cell is ``cell_height`` x ``cell_width`` (the largest tile), with
    ``pad`` pixels between cells and around the border; a smaller tile sits
    in its cell's top-left corner.

    Args:
        rows (int): number of rows.
        cols (int): number of columns.
        cell_height (int): height of a cell in pixels.
        cell_width (int): width of a cell in pixels.
        pad (int): padding in pixels.
    """
    rows: int
    cols: int
    cell_height: int
    cell_width: int
    pad: int

    @property
    def height(self) -> int:
        """Height of the grid image in pixels."""
        return self.rows * self.cell_height + (self.rows + 1) * self.pad

    @property
    def width(self) -> int:
        """Width of the grid image in pixels."""
        return self.cols * self.cell_width + (self.cols + 1) * self.pad

    def origin(self, index: int) -> Tuple[int, int]:
        """Top-left pixel ``(y, x)`` of cell ``index`` (row-major order).

        Args:
            index (int): the tile's position in the grid.

        Returns:
            tuple[int, int]: its cell's top-left corner.
        """
        row, col = divmod(int(index), self.cols)
        return (self.pad + row * (self.cell_height + self.pad),
                self.pad + col * (self.cell_width + self.pad))


def grid_geometry(shapes: Sequence[Tuple[int, ...]], cols: int, pad: int = 2) -> GridGeometry:
    """The geometry of a grid holding tiles of the given shapes.

    Args:
        shapes (Sequence[tuple]): ``(H, W, ...)`` of each tile.
        cols (int): maximum number of columns (fewer when there are fewer tiles).
        pad (int): padding in pixels between cells and around the border.

    Returns:
        GridGeometry: rows, columns, cell size and padding.
    """
    if not shapes:
        raise ValueError('a grid needs at least one tile')
    if int(cols) < 1:
        raise ValueError(f'cols must be >= 1, got {cols}')
    if int(pad) < 0:
        raise ValueError(f'pad must be >= 0, got {pad}')
    cols = min(int(cols), len(shapes))
    rows = -(-len(shapes) // cols)
    return GridGeometry(rows=rows, cols=cols, cell_height=max(int(s[0]) for s in shapes),
                        cell_width=max(int(s[1]) for s in shapes), pad=int(pad))


def _as_rgb(tile: np.ndarray) -> np.ndarray:
    tile = np.asarray(tile)
    if tile.dtype != np.uint8:
        raise TypeError(f'tiles must be uint8 images, got {tile.dtype}')
    if tile.ndim == 2:
        tile = np.repeat(tile[..., None], 3, axis=2)
    if tile.ndim != 3 or tile.shape[2] not in (1, 3):
        raise ValueError(f'tiles must be (H, W), (H, W, 1) or (H, W, 3), got {tile.shape}')
    return np.repeat(tile, 3, axis=2) if tile.shape[2] == 1 else tile


def tile_images(tiles: Sequence[np.ndarray], cols: int = 4, pad: int = 2,
                pad_value: int = 255) -> np.ndarray:
    """Tile images (of possibly different sizes) row by row into one image.

    Args:
        tiles (Sequence[np.ndarray]): uint8 images, (H, W) or (H, W, 3).
        cols (int): maximum number of columns.
        pad (int): padding in pixels between cells and around the border.
        pad_value (int): grey level of the padding and of unused cell area.

    Returns:
        np.ndarray: uint8 (H, W, 3), with ``H, W`` as in
        :func:`grid_geometry`.
    """
    tiles = [_as_rgb(t) for t in tiles]
    geometry = grid_geometry([t.shape for t in tiles], cols, pad)
    grid = np.full((geometry.height, geometry.width, 3), pad_value, np.uint8)
    for index, tile in enumerate(tiles):
        y, x = geometry.origin(index)
        grid[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return grid


def save_png(image: np.ndarray, path: str, scale: int = 1) -> str:
    """Write an RGB uint8 image as PNG (folders created).

    Args:
        image (np.ndarray): uint8 (H, W, 3) RGB.
        path (str): the output file.
        scale (int): integer up-scaling (nearest neighbour), e.g. for 64x64
            tiles.

    Returns:
        str: ``path``.
    """
    from PIL import Image
    if int(scale) < 1:
        raise ValueError(f'scale must be >= 1, got {scale}')
    if scale > 1:
        image = np.repeat(np.repeat(image, int(scale), axis=0), int(scale), axis=1)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image)).save(path)
    return path
