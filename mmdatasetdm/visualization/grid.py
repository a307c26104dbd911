"""Tiling images of any sizes into one grid image (and writing it as PNG), with text.

Besides the grid, :func:`caption_tile` writes a line or two of text (a sample's
prompt) under a tile and :func:`legend_strip` draws colour swatches with their
names (a legend of classes), both with PIL's built-in font, so no font file is
needed and equal inputs give equal pixels.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from mmdatasetdm.fileio import atomic_path


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
    with atomic_path(path) as temp:  # a reader never sees half a PNG
        Image.fromarray(np.ascontiguousarray(image)).save(temp, format='PNG')
    return path


# ---------------------------------------------------------------- text
TEXT_COLOR = (0, 0, 0)
LINE_HEIGHT = 14  # pixels per line of PIL's built-in font (size 10) with its spacing


def _font():
    from PIL import ImageFont
    return ImageFont.load_default()


def fit_lines(text: str, width: int, max_lines: int = 2) -> list:
    """Break ``text`` into at most ``max_lines`` lines of at most ``width`` pixels.

    Words are kept whole where they fit; a word wider than a line is cut. Text
    that does not fit ends its last line with ``'...'``.

    Args:
        text (str): the text.
        width (int): line width in pixels.
        max_lines (int): lines at most.

    Returns:
        list[str]: the lines (none for empty text).
    """
    from PIL import Image, ImageDraw
    draw, font = ImageDraw.Draw(Image.new('RGB', (1, 1))), _font()

    def fits(line):
        return draw.textlength(line, font=font) <= width

    def cut(line, suffix=''):
        while line and not fits(line + suffix):
            line = line[:-1]
        return line + suffix

    lines, words = [], str(text).split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        if not fits(line):
            line = cut(line)
        while words and fits(f'{line} {words[0]}'):
            line = f'{line} {words.pop(0)}'
        lines.append(line)
    if words and lines:
        lines[-1] = cut(lines[-1], '...')
    return lines


def caption_tile(tile: np.ndarray, text: str, max_lines: int = 2,
                 pad_value: int = 255) -> np.ndarray:
    """A tile with ``text`` written under it (wrapped to the tile's width).

    Args:
        tile (np.ndarray): uint8 (H, W, 3) image.
        text (str): the caption, e.g. a sample's prompt.
        max_lines (int): lines at most; longer text is cut with ``'...'``.
        pad_value (int): grey level behind the text.

    Returns:
        np.ndarray: uint8 (H + max_lines * LINE_HEIGHT, W, 3): every tile
        captioned with the same ``max_lines`` has the same height.
    """
    from PIL import Image, ImageDraw
    tile = _as_rgb(tile)
    width = tile.shape[1]
    strip = Image.new('RGB', (width, int(max_lines) * LINE_HEIGHT), (pad_value, ) * 3)
    draw, font = ImageDraw.Draw(strip), _font()
    for k, line in enumerate(fit_lines(text, width - 4, max_lines)):
        draw.text((2, 1 + k * LINE_HEIGHT), line, fill=TEXT_COLOR, font=font)
    return np.concatenate([tile, np.asarray(strip)], axis=0)


def legend_strip(entries: Sequence[Tuple[str, Sequence[int]]], width: int,
                 title: Optional[str] = None, pad_value: int = 255) -> np.ndarray:
    """A legend: one colour swatch and name per entry, in rows of ``width`` pixels.

    Args:
        entries (Sequence[tuple]): ``(name, (r, g, b))`` pairs, in order.
        width (int): the legend's width (e.g. the grid's), at least 40 pixels.
        title (str, optional): written before the first entry.
        pad_value (int): background grey level.

    Returns:
        np.ndarray: uint8 (H, width, 3), ``H`` a multiple of ``LINE_HEIGHT``
        (plus a border); the swatches are outlined in black so white shows.
    """
    from PIL import Image, ImageDraw
    if int(width) < 40:
        raise ValueError(f'a legend needs a width of at least 40 pixels, got {width}')
    width = int(width)
    draw, font = ImageDraw.Draw(Image.new('RGB', (1, 1))), _font()
    swatch, gap = 10, 12
    items = ([(title, None)] if title else []) + [(str(n), tuple(int(v) for v in c))
                                                  for n, c in entries]
    placed, x, row = [], 4, 0
    for name, color in items:
        name = fit_lines(name, width - 8 - (swatch + 3 if color else 0), 1)
        name = name[0] if name else ''
        size = int(draw.textlength(name, font=font)) + (swatch + 3 if color else 0)
        if x > 4 and x + size > width - 4:
            x, row = 4, row + 1
        placed.append((x, row, name, color))
        x += size + gap
    image = Image.new('RGB', (width, (row + 1) * LINE_HEIGHT + 4), (pad_value, ) * 3)
    draw = ImageDraw.Draw(image)
    for x, row, name, color in placed:
        y = 2 + row * LINE_HEIGHT
        if color is not None:
            draw.rectangle([x, y + 2, x + swatch - 1, y + 1 + swatch], fill=color,
                           outline=TEXT_COLOR)
            x += swatch + 3
        draw.text((x, y + 1), name, fill=TEXT_COLOR, font=font)
    return np.asarray(image)


def stack_vertically(top: np.ndarray, bottom: np.ndarray, pad_value: int = 255) -> np.ndarray:
    """Two RGB images one above the other, the narrower padded on the right.

    Args:
        top (np.ndarray): uint8 (H1, W1, 3).
        bottom (np.ndarray): uint8 (H2, W2, 3).
        pad_value (int): grey level of the padding.

    Returns:
        np.ndarray: uint8 (H1 + H2, max(W1, W2), 3).
    """
    top, bottom = _as_rgb(top), _as_rgb(bottom)
    width = max(top.shape[1], bottom.shape[1])
    return np.concatenate([
        np.pad(a, ((0, 0), (0, width - a.shape[1]), (0, 0)), constant_values=pad_value)
        for a in (top, bottom)
    ], axis=0)
