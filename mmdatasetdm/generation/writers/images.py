"""Images, semantic label maps and depth maps as files (DESIGN.md §4).

* Images: RGB PNG or JPEG.
* Semantic: single-channel 8-bit PNG whose pixel values are class ids,
  255 = ignore. With a palette the PNG is in ``P`` mode for viewing, and the
  pixel values are still the ids (every reader that uses the raw values, as
  mmseg's ``LoadAnnotations`` does, sees the ids).
* Depth: 16-bit PNG of ``round(depth_in_metres * scale)``; the default scale
  1000 stores millimetres, 0 = no depth. The scale belongs in the manifest.
"""
import io
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image

from .atomic import atomic_write_bytes

IGNORE_INDEX = 255
DEFAULT_DEPTH_SCALE = 1000.0
IMAGE_FORMATS = {'png': 'PNG', 'jpg': 'JPEG'}


def normalise_image_ext(ext: str) -> str:
    """``'png'`` or ``'jpg'`` from an extension such as ``'.JPEG'``.

    Args:
        ext (str): an extension, with or without the dot.

    Returns:
        str: ``'png'`` or ``'jpg'``.
    """
    ext = str(ext).lower().lstrip('.')
    ext = 'jpg' if ext == 'jpeg' else ext
    if ext not in IMAGE_FORMATS:
        raise ValueError(f'image format must be png or jpg, got {ext!r}')
    return ext


def _to_rgb_array(image, path: str) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert('RGB'))
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f'{path}: expected an RGB image of shape (H, W, 3), got shape {array.shape}')
    if array.dtype != np.uint8:
        raise ValueError(f'{path}: expected a uint8 RGB image, got dtype {array.dtype}')
    return array


def encode_image(image, ext: str = 'png', quality: int = 95, path: str = '<image>') -> bytes:
    """Encode an RGB image.

    Args:
        image (np.ndarray | PIL.Image.Image): uint8 RGB, shape (H, W, 3).
        ext (str): ``'png'`` or ``'jpg'``.
        quality (int): JPEG quality.
        path (str): named in errors.

    Returns:
        bytes: the encoded file.
    """
    ext = normalise_image_ext(ext)
    buffer = io.BytesIO()
    options = dict(quality=int(quality)) if ext == 'jpg' else {}
    Image.fromarray(_to_rgb_array(image, path)).save(buffer, format=IMAGE_FORMATS[ext], **options)
    return buffer.getvalue()


def write_image(path: str, image, ext: str = 'png', quality: int = 95, fsync: bool = False) -> str:
    """Write an RGB image atomically.

    Args:
        path (str): destination.
        image (np.ndarray | PIL.Image.Image): uint8 RGB, shape (H, W, 3).
        ext (str): ``'png'`` or ``'jpg'``.
        quality (int): JPEG quality.
        fsync (bool): flush to disk before the rename.

    Returns:
        str: ``path``.
    """
    return atomic_write_bytes(path, encode_image(image, ext, quality, path), fsync)


def voc_palette(num_colors: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (class id -> RGB), ignore (255) is light grey.

    Class ``c``'s colour spreads the bits of ``c`` over the three channels,
    most significant first: bit ``3k`` -> red, ``3k+1`` -> green, ``3k+2``
    -> blue, at bit ``7 - k`` of the colour byte.

    Args:
        num_colors (int): colours wanted (at most 256).

    Returns:
        np.ndarray: uint8, shape (num_colors, 3).
    """
    palette = np.zeros((num_colors, 3), dtype=np.uint8)
    for c in range(num_colors):
        value, rgb = c, [0, 0, 0]
        for k in range(8):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << (7 - k)
            value >>= 3
        palette[c] = rgb
    if num_colors > IGNORE_INDEX:
        palette[IGNORE_INDEX] = (224, 224, 192)
    return palette


def _check_label_map(labels, path: str, num_classes: Optional[int]) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 2:
        raise ValueError(f'{path}: a semantic label map must have shape (H, W), got {array.shape}')
    if array.dtype.kind not in 'iu':
        raise ValueError(f'{path}: a semantic label map must hold integer class ids, got dtype {array.dtype}')
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > IGNORE_INDEX:
            raise ValueError(f'{path}: class ids must lie in [0, 254] or be {IGNORE_INDEX} (ignore), '
                             f'got values in [{low}, {high}]')
        if num_classes is not None:
            bad = np.unique(array[(array >= num_classes) & (array != IGNORE_INDEX)])
            if bad.size:
                raise ValueError(f'{path}: class ids {bad.tolist()} are >= num_classes={num_classes}')
    return array.astype(np.uint8)


def write_semantic(path: str, labels, palette: Union[None, str, Sequence] = None,
                   num_classes: Optional[int] = None, fsync: bool = False) -> str:
    """Write a label map of class ids as a single-channel PNG, atomically.

    Args:
        path (str): destination (``.png``).
        labels (np.ndarray): integer ids, shape (H, W); 255 = ignore.
        palette (None | str | Sequence): None (grey ``L`` PNG), ``'voc'`` or
            a list of RGB triples (``P`` PNG; the pixel values stay the ids).
        num_classes (int, optional): refuse ids ``>= num_classes`` (but 255).
        fsync (bool): flush to disk before the rename.

    Returns:
        str: ``path``.
    """
    array = _check_label_map(labels, path, num_classes)
    image = Image.fromarray(array)  # uint8 (H, W) -> mode 'L'
    if palette is not None:
        if isinstance(palette, str):
            if palette != 'voc':
                raise ValueError(f"palette must be None, 'voc' or a list of RGB triples, got {palette!r}")
            colors = voc_palette()
        else:
            colors = np.zeros((256, 3), dtype=np.uint8)
            given = np.asarray(palette, dtype=np.int64)
            if given.ndim != 2 or given.shape[1] != 3 or len(given) > 256 or given.min(initial=0) < 0 \
                    or given.max(initial=0) > 255:
                raise ValueError(f'palette must be at most 256 RGB triples in [0, 255], got shape {given.shape}')
            colors[:len(given)] = given
        # putpalette turns 'L' into 'P' keeping the pixel values (the ids)
        image.putpalette(colors.reshape(-1).tolist())
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return atomic_write_bytes(path, buffer.getvalue(), fsync)


def read_semantic(path: str) -> np.ndarray:
    """Read a semantic PNG written by :func:`write_semantic`.

    Args:
        path (str): the PNG.

    Returns:
        np.ndarray: uint8 class ids, shape (H, W).
    """
    with Image.open(path) as image:
        if image.mode not in ('L', 'P'):
            raise ValueError(f'{path}: expected a single-channel (L or P) PNG of class ids, got mode {image.mode}')
        return np.array(image, dtype=np.uint8)


def encode_depth(depth, scale: float = DEFAULT_DEPTH_SCALE, path: str = '<depth>') -> np.ndarray:
    """Depth in metres -> the uint16 values stored in the PNG.

    Args:
        depth (np.ndarray): float depth in metres, shape (H, W); 0 = unknown.
        scale (float): stored value per metre (1000 -> millimetres).
        path (str): named in errors.

    Returns:
        np.ndarray: uint16, shape (H, W).

    Raises:
        ValueError: non-finite or negative depth, or a value that does not fit
            in uint16 at this scale (never silently clipped).
    """
    if not scale > 0:
        raise ValueError(f'{path}: depth scale must be > 0, got {scale}')
    array = np.asarray(depth, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f'{path}: a depth map must have shape (H, W), got {array.shape}')
    if not np.all(np.isfinite(array)):
        raise ValueError(f'{path}: depth holds NaN or inf; store unknown depth as 0')
    stored = np.rint(array * scale)
    if stored.size and (stored.min() < 0 or stored.max() > np.iinfo(np.uint16).max):
        raise ValueError(f'{path}: depth in [{array.min():.4g}, {array.max():.4g}] m times scale {scale:g} '
                         f'leaves the uint16 range [0, 65535] (max {65535 / scale:.4g} m); '
                         f'use a smaller scale or fix the depth')
    return stored.astype(np.uint16)


def write_depth(path: str, depth, scale: float = DEFAULT_DEPTH_SCALE, fsync: bool = False) -> str:
    """Write depth in metres as a 16-bit PNG, atomically.

    Args:
        path (str): destination (``.png``).
        depth (np.ndarray): float depth in metres, shape (H, W); 0 = unknown.
        scale (float): stored value per metre; record it in the manifest.
        fsync (bool): flush to disk before the rename.

    Returns:
        str: ``path``.
    """
    stored = encode_depth(depth, scale, path)
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format='PNG')
    return atomic_write_bytes(path, buffer.getvalue(), fsync)


def read_depth(path: str, scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Read a depth PNG written by :func:`write_depth`, back in metres.

    Args:
        path (str): the 16-bit PNG.
        scale (float): the scale it was written with (from the manifest).

    Returns:
        np.ndarray: float32 depth in metres, shape (H, W); 0 = unknown.
    """
    if not scale > 0:
        raise ValueError(f'{path}: depth scale must be > 0, got {scale}')
    with Image.open(path) as image:
        if image.mode not in ('I;16', 'I'):
            raise ValueError(f'{path}: expected a 16-bit single-channel PNG, got mode {image.mode}')
        stored = np.array(image)
    return (stored.astype(np.float64) / scale).astype(np.float32)
