"""File I/O of mmdatasetdm: atomic writes, hashing, and the image, label and depth files.

Every module that writes or reads a file goes through this one: the generation
writers, the synthetic datasets, the few-shot split tool, the feature cache
and the gallery.

**Atomic writes.** A file is either absent or complete, never half-written:
it is written under a hidden temporary name in its destination folder
(``.{name}.tmp.{pid}.{random}``) and renamed over the final name with
:func:`os.replace`, which is atomic within one file system. A process killed
mid-write leaves at most a temporary file, which :func:`remove_stale_temps`
deletes when the folder is opened again.

**Images, labels and depth** (byte-identical for equal arrays: PIL writes no
timestamps):

* Images: RGB PNG or JPEG.
* Semantic: single-channel 8-bit PNG whose pixel values are class ids,
  :data:`IGNORE_INDEX` (255) = ignore. With a palette the PNG is in ``P``
  mode for viewing, and the pixel values are still the ids (every reader that
  uses the raw values, as mmseg's ``LoadAnnotations`` does, sees the ids).
* Depth: 16-bit PNG of ``round(depth_in_metres * scale)``; the default scale
  1000 stores millimetres, 0 = no depth. The scale travels with the data
  (a synthetic set's manifest, a demo world's ``meta.json``).
"""
import contextlib
import hashlib
import io
import json
import os
import os.path as osp
import shutil
import uuid
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

TEMP_MARKER = '.tmp.'
IGNORE_INDEX = 255
DEFAULT_DEPTH_SCALE = 1000.0
IMAGE_FORMATS = {'png': 'PNG', 'jpg': 'JPEG'}
_CHUNK = 1 << 20


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of our temporary names.

    Args:
        name (str): a file's base name.

    Returns:
        bool: True for ``.{name}.tmp.{pid}.{token}``.
    """
    return name.startswith('.') and TEMP_MARKER in name


@contextlib.contextmanager
def atomic_path(path: str, fsync: bool = False) -> Iterator[str]:
    """Yield a temporary path; on success rename it to ``path``, on error delete it.

    Args:
        path (str): the final file name; its folder is created if needed.
        fsync (bool): flush the file to disk before the rename (survives a
            power loss, not only a crash of the process; slower).

    Yields:
        str: the temporary path to write (same folder as ``path``).

    Raises:
        OSError: a failed write (disk full, permissions, ...) names ``path``,
            which the operating system's error does not.
    """
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = osp.join(folder, f'.{name}{TEMP_MARKER}{os.getpid()}.{uuid.uuid4().hex[:12]}')
    try:
        yield temp
        if not osp.isfile(temp):
            raise RuntimeError(f'nothing was written to the temporary file of {path}')
        if fsync:
            with open(temp, 'rb') as f:
                os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
        if isinstance(err, OSError) and err.filename in (None, temp):
            # e.g. "[Errno 28] No space left on device" from a write: say which file
            raise type(err)(err.errno, f'{err.strerror or err} while writing {path}',
                            path) from err
        raise


def atomic_write_bytes(path: str, data: bytes, fsync: bool = False) -> str:
    """Write ``data`` to ``path`` atomically.

    Args:
        path (str): destination.
        data (bytes): the content.
        fsync (bool): see :func:`atomic_path`.

    Returns:
        str: ``path``.
    """
    with atomic_path(path, fsync) as temp:
        with open(temp, 'wb') as f:
            f.write(data)
    return path


def atomic_write_text(path: str, text: str, fsync: bool = False) -> str:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode('utf-8'), fsync)


def dumps_json(obj) -> str:
    """Compact, deterministic JSON (insertion order, no spaces, UTF-8 kept)."""
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False, allow_nan=False)


def atomic_write_json(path: str, obj, fsync: bool = False) -> str:
    """Write ``obj`` as compact JSON to ``path`` atomically.

    Args:
        path (str): destination.
        obj: JSON-serialisable data (NaN/inf are refused).
        fsync (bool): see :func:`atomic_path`.

    Returns:
        str: ``path``.
    """
    return atomic_write_text(path, dumps_json(obj), fsync)


def atomic_copy(src: str, dst: str, fsync: bool = False) -> str:
    """Copy ``src`` to ``dst`` atomically (a hard link when the file system allows).

    Nothing is done when ``dst`` already is ``src``.

    Args:
        src (str): an existing file.
        dst (str): destination.
        fsync (bool): see :func:`atomic_path`.

    Returns:
        str: ``dst``.
    """
    if osp.exists(dst) and osp.samefile(src, dst):
        return dst
    with atomic_path(dst, fsync) as temp:
        try:
            os.link(src, temp)
        except OSError:
            shutil.copyfile(src, temp)
    return dst


def remove_stale_temps(folder: str) -> List[str]:
    """Delete temporary files left in ``folder`` (recursively) by a killed writer.

    Only call it on a folder no other live process is writing to.

    Args:
        folder (str): the folder to clean.

    Returns:
        list[str]: the removed paths.
    """
    removed = []
    for root, _, files in os.walk(folder):
        for name in files:
            if is_temp_name(name):
                path = osp.join(root, name)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed.append(path)
    return sorted(removed)


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks).

    Args:
        path (str): the file.

    Returns:
        str: 64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(folder: str, exclude: Sequence[str] = ()) -> Dict[str, str]:
    """Hex SHA-256 of every file below a folder (e.g. to compare two runs' outputs).

    Args:
        folder (str): the folder.
        exclude (Sequence[str]): names of top-level entries to leave out
            (e.g. ``('shards',)``).

    Returns:
        dict[str, str]: ``'/'``-separated relative path -> digest.
    """
    out = {}
    for root, dirs, files in os.walk(folder):
        if root == folder:
            dirs[:] = [d for d in dirs if d not in exclude]
            files = [f for f in files if f not in exclude]
        for name in files:
            path = osp.join(root, name)
            out[osp.relpath(path, folder).replace(os.sep, '/')] = file_sha256(path)
    return out


def read_jsonl(path: str) -> Iterator[Tuple[int, Any]]:
    """The records of a JSON-lines file with their line numbers (blank lines skipped).

    Args:
        path (str): the file.

    Yields:
        tuple[int, Any]: the 1-based line number and the line's JSON value.

    Raises:
        ValueError: a line is not JSON (names the file and the line).
    """
    with open(path, encoding='utf-8') as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{number} is not valid JSON ({err})') from None


def json_sha256(obj) -> str:
    """Hex SHA-256 of JSON-serialisable data (keys sorted, compact; values JSON
    cannot hold are written with ``repr``).

    Args:
        obj: the data.

    Returns:
        str: 64 hex digits.
    """
    text = json.dumps(obj, sort_keys=True, default=repr, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of an image array.

    Args:
        array (np.ndarray): uint8 (H, W, 3) RGB, uint8 (H, W) grey or uint16
            (H, W) (a 16-bit greyscale PNG).

    Returns:
        bytes: the encoded PNG.
    """
    array = np.asarray(array)
    if array.dtype == np.uint16:
        image = Image.fromarray(array.astype('<u2', copy=False))  # mode 'I;16'
    elif array.dtype == np.uint8:
        image = Image.fromarray(array)
    else:
        raise TypeError(f'encode_png expects uint8 or uint16, got {array.dtype}')
    return _png_bytes(image)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return buffer.getvalue()


def read_rgb(path: str) -> np.ndarray:
    """An image file as uint8 RGB.

    Args:
        path (str): the image.

    Returns:
        np.ndarray: uint8, shape (H, W, 3).
    """
    with Image.open(path) as image:
        return np.asarray(image.convert('RGB'))


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
        raise ValueError(
            f'{path}: expected an RGB image of shape (H, W, 3), got shape {array.shape}')
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
    array = _to_rgb_array(image, path)
    if ext == 'png':
        return encode_png(array)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=IMAGE_FORMATS[ext], quality=int(quality))
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
        raise ValueError(
            f'{path}: a semantic label map must hold integer class ids, got dtype {array.dtype}')
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > IGNORE_INDEX:
            raise ValueError(
                f'{path}: class ids must lie in [0, 254] or be {IGNORE_INDEX} (ignore), '
                f'got values in [{low}, {high}]')
        if num_classes is not None:
            bad = np.unique(array[(array >= num_classes) & (array != IGNORE_INDEX)])
            if bad.size:
                raise ValueError(
                    f'{path}: class ids {bad.tolist()} are >= num_classes={num_classes}')
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
                raise ValueError(
                    f"palette must be None, 'voc' or a list of RGB triples, got {palette!r}")
            colors = voc_palette()
        else:
            colors = np.zeros((256, 3), dtype=np.uint8)
            given = np.asarray(palette, dtype=np.int64)
            if (given.ndim != 2 or given.shape[1] != 3 or len(given) > 256
                    or given.min(initial=0) < 0 or given.max(initial=0) > 255):
                raise ValueError(f'palette must be at most 256 RGB triples in [0, 255], '
                                 f'got shape {given.shape}')
            colors[:len(given)] = given
        # putpalette turns 'L' into 'P' keeping the pixel values (the ids)
        image.putpalette(colors.reshape(-1).tolist())
    return atomic_write_bytes(path, _png_bytes(image), fsync)


def read_semantic(path: str) -> np.ndarray:
    """Read a semantic PNG written by :func:`write_semantic`.

    Args:
        path (str): the PNG.

    Returns:
        np.ndarray: uint8 class ids, shape (H, W).
    """
    with Image.open(path) as image:
        if image.mode not in ('L', 'P'):
            raise ValueError(f'{path}: expected a single-channel (L or P) PNG of class ids, '
                             f'got mode {image.mode}')
        return np.array(image, dtype=np.uint8)


def write_confidence(path: str, confidence, fsync: bool = False) -> str:
    """Write per-pixel label confidence in [0, 1] as an 8-bit grey PNG, atomically.

    Stored value ``round(255 * confidence)``: a confidence reads back to
    within 1/510.

    Args:
        path (str): destination (``.png``).
        confidence (np.ndarray): float confidence, shape (H, W), in [0, 1].
        fsync (bool): flush to disk before the rename.

    Returns:
        str: ``path``.

    Raises:
        ValueError: not 2-D, NaN, or outside [0, 1] (never silently clipped).
    """
    array = np.asarray(confidence, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f'{path}: a confidence map must have shape (H, W), got {array.shape}')
    if array.size and not (np.all(np.isfinite(array)) and array.min() >= 0
                           and array.max() <= 1):
        raise ValueError(f'{path}: confidence must lie in [0, 1], got values in '
                         f'[{np.nanmin(array):.4g}, {np.nanmax(array):.4g}]')
    return atomic_write_bytes(path, encode_png(np.rint(array * 255).astype(np.uint8)), fsync)


def read_confidence(path: str) -> np.ndarray:
    """Read a confidence PNG written by :func:`write_confidence`.

    Args:
        path (str): the 8-bit PNG.

    Returns:
        np.ndarray: float32 confidence in [0, 1], shape (H, W).
    """
    with Image.open(path) as image:
        if image.mode != 'L':
            raise ValueError(f'{path}: expected an 8-bit grey (L) PNG of confidences, got mode '
                             f'{image.mode}')
        return np.array(image, dtype=np.float32) / 255.0


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
        raise ValueError(
            f'{path}: depth in [{array.min():.4g}, {array.max():.4g}] m times scale {scale:g} '
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
    return atomic_write_bytes(path, encode_png(encode_depth(depth, scale, path)), fsync)


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
