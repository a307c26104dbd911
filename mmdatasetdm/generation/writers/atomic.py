"""Atomic file writing: a file is either absent or complete, never half-written.

Every file is written under a hidden temporary name in its destination folder
(``.{name}.tmp.{pid}.{random}``) and then renamed over the final name with
:func:`os.replace`, which is atomic within one file system. A process killed
mid-write leaves at most a temporary file, which :func:`remove_stale_temps`
deletes when the folder is opened again.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import uuid
from typing import Iterator, List

TEMP_MARKER = '.tmp.'


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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
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
