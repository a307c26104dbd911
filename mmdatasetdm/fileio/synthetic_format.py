"""The on-disk format of a generated (synthetic) dataset: file names, version, manifest.

A generated dataset folder, as ``tools/generate.py`` writes it::

    dataset.json                what the run is: format version, classes, COCO categories,
                                keypoint metadata, image format, depth scale, run info
    manifest.jsonl              one JSON line per sample (accepted or rejected), by index
    images/00000007.png         the image of sample 7 (name = global index)
    semantic/00000007.png       semantic ids, 255 = ignore (semantic runs)
    depth/00000007.png          16-bit depth (depth runs)
    confidence/00000007.png     8-bit per-pixel confidence of the semantic labels,
                                round(255 x p) with p the winning class's share of the
                                class scores (semantic runs with writer.confidence=True)
    instances.json              COCO instances of the accepted samples (instance runs)
    keypoints.json              COCO keypoints of the accepted samples (pose runs)
    README.md                   the dataset card (``mmdatasetdm.generation.card``); its
                                facts are also in dataset.json under ``card``
    gallery.png                 a few accepted samples with their labels, prompts and legend
    shards/rank00000/           one folder per rank while generating (see below); rank 0's
                                also holds command.json, the command line that started the
                                run (not part of its identity)

Each rank writes a *shard folder* (``shards/rank{r:05d}``) with ``shard.json``
(what becomes ``dataset.json``), the sample files, and ``parts/{index:08d}.json``
(a sample's manifest line and COCO entries, written last: a sample is complete
exactly when its part exists). File writing is :mod:`mmdatasetdm.fileio.files`;
the writer is :class:`mmdatasetdm.generation.writers.ShardWriter`.

A segmentor's predictions on a generated set (``tools/predict_synthetic.py``, read by the
agreement filter of :class:`mmdatasetdm.datasets.SyntheticSegDataset`) live in a folder of
their own, never inside the set::

    predictions.json            what they are: the set (its manifest's sha256), the model's
                                config, checkpoint (and sha256) and classes
    semantic/00000007.png       the model's class ids for sample 7 (the model's classes)

Every module that reads or writes this format (the writers, the synthetic
dataset types, the gallery, the tools) takes its names and readers from here.
"""
import glob
import json
import os
import os.path as osp
import re
from typing import Any, Dict, Iterable, List

from .files import atomic_write_text, dumps_json, read_jsonl

FORMAT_VERSION = 1
DATASET_META = 'dataset.json'
SHARD_META = 'shard.json'
SHARDS_DIR = 'shards'
PARTS_DIR = 'parts'
MANIFEST = 'manifest.jsonl'
INSTANCES_JSON = 'instances.json'
KEYPOINTS_JSON = 'keypoints.json'
# the dataset card (mmdatasetdm.generation.card): its key in dataset.json, README and gallery
CARD_KEY = 'card'
CARD_README = 'README.md'
CARD_GALLERY = 'gallery.png'
# in rank 0's shard folder: the command that started the run, outside the run's identity
COMMAND_FILE = 'command.json'
# the folders of the samples' files (see sample_file)
SAMPLE_DIRS = ('images', 'semantic', 'depth', 'confidence')
# The perception tasks whose annotations a generated set can hold.
TASKS = ('semantic', 'instance', 'depth', 'pose')
# Keys every manifest line has (None when unknown), in this order.
RUN_INFO_KEYS = ('timestep', 'scheduler', 'steps', 'guidance', 'decoder')
# a segmentor's predictions on a set: their metadata file, its version, and the keys that say
# which set and model they belong to
PREDICTIONS_META = 'predictions.json'
PREDICTIONS_VERSION = 1
PREDICTIONS_IDENTITY = ('format_version', 'source_manifest_sha256', 'checkpoint_sha256',
                        'classes')
_PART_NAME = re.compile(r'^(\d{8,})\.json$')


def sample_file(kind: str, index: int, ext: str) -> str:
    """The path of one of a sample's files, relative to the dataset folder.

    Args:
        kind (str): ``'images'``, ``'semantic'``, ``'depth'`` or ``'confidence'``.
        index (int): the global sample index.
        ext (str): the file extension without the dot.

    Returns:
        str: e.g. ``'images/00000007.png'``.
    """
    return f'{kind}/{int(index):08d}.{ext}'


def image_id_of(index: int) -> int:
    """The COCO image id of global sample ``index`` in ``instances.json`` and
    ``keypoints.json`` (``index + 1``: pycocotools treats id 0 as "no match")."""
    return int(index) + 1


def part_file(shard_dir: str, index: int) -> str:
    """The part file of sample ``index`` in a shard folder."""
    return osp.join(shard_dir, PARTS_DIR, f'{int(index):08d}.json')


def shard_dir(out_dir: str, rank: int) -> str:
    """The conventional shard folder of ``rank`` inside a run's output folder.

    Args:
        out_dir (str): the run's output folder.
        rank (int): the process rank.

    Returns:
        str: ``{out_dir}/shards/rank{rank:05d}``.
    """
    return osp.join(out_dir, SHARDS_DIR, f'rank{int(rank):05d}')


def list_shard_dirs(out_dir: str) -> List[str]:
    """Every shard folder under ``{out_dir}/shards`` (sorted)."""
    return sorted(d for d in glob.glob(osp.join(out_dir, SHARDS_DIR, '*'))
                  if osp.isfile(osp.join(d, SHARD_META)))


def completed_indices(*shard_dirs: str) -> List[int]:
    """Global indices of the samples completely written in the given shards.

    A sample is complete when its part file (its manifest line, written
    last) exists; leftovers of an interrupted sample do not count.

    Args:
        *shard_dirs (str): shard folders (missing ones hold nothing).

    Returns:
        list[int]: sorted, without duplicates.
    """
    done = set()
    for folder in shard_dirs:
        parts = osp.join(folder, PARTS_DIR)
        if osp.isdir(parts):
            done.update(int(m.group(1)) for m in map(_PART_NAME.match, os.listdir(parts)) if m)
    return sorted(done)


def read_json(path: str) -> Any:
    """A JSON file, with an error that names the file when it is not valid JSON."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err


def read_dataset_meta(data_root: str) -> dict:
    """The ``dataset.json`` of a merged generated dataset.

    Keys added after a format version (``card``, the dataset card's facts) are
    returned with the others; every reader takes the keys it knows, so such a
    key changes nothing for older code and the format version stays.

    Args:
        data_root (str): the dataset folder.

    Returns:
        dict: the run's metadata.
    """
    path = osp.join(data_root, DATASET_META)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: {data_root} is not a merged generated '
                                'dataset (run tools/generate.py, or merge its shards)')
    return read_json(path)


def read_predictions_meta(folder: str) -> dict:
    """The ``predictions.json`` of a predictions folder (see the module docstring).

    Args:
        folder (str): the predictions folder.

    Returns:
        dict: what the predictions are (``PREDICTIONS_IDENTITY`` and where they came from).
    """
    path = osp.join(folder, PREDICTIONS_META)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: {folder} holds no predictions of a '
                                'generated set (write them with tools/predict_synthetic.py)')
    meta = read_json(path)
    missing = [k for k in PREDICTIONS_IDENTITY if k not in meta]
    if missing or meta['format_version'] != PREDICTIONS_VERSION:
        raise ValueError(f'{path}: expected predictions of format version {PREDICTIONS_VERSION} '
                         f'with {list(PREDICTIONS_IDENTITY)}, got version '
                         f'{meta.get("format_version")} without {missing}; write them again '
                         'with tools/predict_synthetic.py')
    return meta


def verify_image(path: str, what: str) -> None:
    """Raise an error naming ``path`` if it is not a readable image.

    Args:
        path (str): the image file.
        what (str): what the file is, for the error.
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.verify()
    except Exception as e:  # PIL raises many types for broken files
        raise ValueError(f'{what} {path} is not a readable image ({type(e).__name__}: {e}); '
                         'delete the sample\'s part file in shards/ and re-run tools/generate.py '
                         '--resume, or remove its manifest line') from None


def read_manifest(path: str, accepted_only: bool = False, check_files: bool = False,
                  verify: bool = False) -> List[Dict[str, Any]]:
    """The lines of a ``manifest.jsonl``, optionally checked against the files.

    Args:
        path (str): a dataset folder, or its manifest file.
        accepted_only (bool): skip rejected samples.
        check_files (bool): every file a (kept) line lists must exist.
        verify (bool): also decode-check every listed image/mask (slow on big
            sets).

    Returns:
        list[dict]: one dict per kept line, in file order.

    Raises:
        ValueError: a line is not valid JSON, lists a file outside the
            dataset folder (an absolute path or one through ``..``), or
            (``verify``) a file is not a readable image.
        FileNotFoundError: the manifest, or (``check_files``) a listed file,
            is missing (names the line and the file).
    """
    if osp.isdir(path):
        path = osp.join(path, MANIFEST)
    data_root = osp.dirname(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing (the generator writes it last: an '
                                'unfinished run? resume it with tools/generate.py --resume)')
    lines = []
    for number, line in read_jsonl(path):
        for kind, rel in line.get('files', {}).items():
            if not _inside(rel):
                raise ValueError(f'{path}:{number} (sample {line.get("index")}) lists {kind} '
                                 f'file {rel!r}, which is not a path inside {data_root}: a '
                                 'manifest names its files relative to its own folder')
        if accepted_only and not line.get('accepted', True):
            continue
        if check_files or verify:
            for kind, rel in line.get('files', {}).items():
                if not osp.isfile(osp.join(data_root, rel)):
                    raise FileNotFoundError(
                        f'{path}:{number} (sample {line.get("index")}) lists {kind} file '
                        f'{rel}, which is missing from {data_root}; regenerate it with '
                        'tools/generate.py --resume or remove the line')
                if verify:
                    verify_image(osp.join(data_root, rel), f'{path}:{number}: {kind} file')
        lines.append(line)
    return lines


def _inside(rel) -> bool:
    """Whether a manifest path stays inside the dataset folder."""
    if not isinstance(rel, str) or not rel or osp.isabs(rel) or '\\' in rel:
        return False
    parts = osp.normpath(rel).split(os.sep)
    return parts[0] not in ('..', '')


def write_manifest(out_dir: str, lines: Iterable[Dict[str, Any]], fsync: bool = False) -> str:
    """Write ``manifest.jsonl`` atomically: one compact JSON line per sample.

    Args:
        out_dir (str): the dataset folder.
        lines (Iterable[dict]): the manifest lines, in index order.
        fsync (bool): flush the file to disk before its rename.

    Returns:
        str: the manifest's path.
    """
    return atomic_write_text(osp.join(out_dir, MANIFEST),
                             ''.join(dumps_json(line) + '\n' for line in lines), fsync)
