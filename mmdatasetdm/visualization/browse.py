"""Browse a config's dataset: what the model sees, drawn by the toolbox's visualizer, as PNG grids.

:func:`build_browse_dataset` builds ``{split}_dataloader.dataset`` of any
mmseg / mmdet / mmpose config with its pipeline (or, ``raw=True``, with only
its loading and packing steps); :func:`browse_dataset` draws the first samples
(:mod:`.overlay`) and tiles them into grids (:mod:`.grid`).
"""
import copy
import importlib
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence

from .grid import GridGeometry, grid_geometry, save_png, tile_images
from .overlay import build_visualizer, detect_task, draw_sample, sample_image

SPLITS = ('train', 'val', 'test')


class BrowseError(ValueError):
    """A config or dataset that cannot be browsed (bad split, empty dataset); the
    message says what to change."""


def _type_name(transform: Mapping[str, Any]) -> str:
    kind = transform.get('type', '')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))
    return kind.split('.')[-1]


def _keeps_raw(transform: Mapping[str, Any]) -> bool:
    """Loading, format-converting and packing steps: what a raw view keeps."""
    name = _type_name(transform)
    return name.startswith(('Load', 'Pack')) or name.endswith('Converter')


def raw_pipeline(pipeline: Sequence[Mapping[str, Any]]) -> List[dict]:
    """Only the steps that load, convert and pack: no resizing, cropping,
    flipping or colour changes, so samples appear as stored.

    Args:
        pipeline (Sequence[Mapping]): transform configs.

    Returns:
        list[dict]: the ``Load*``, ``*Converter`` and ``Pack*`` transforms, in order.
    """
    return [copy.deepcopy(dict(t)) for t in pipeline if _keeps_raw(t)]


def browsing_pipeline(pipeline: Sequence[Mapping[str, Any]], raw: bool = False) -> List[dict]:
    """The pipeline to browse with.

    ``PackPoseInputs`` is told to pack the transformed keypoints (mmpose only
    packs them on request), so keypoints are drawn where the transformed image
    has them.

    Args:
        pipeline (Sequence[Mapping]): transform configs.
        raw (bool): keep only loading/packing (see :func:`raw_pipeline`).

    Returns:
        list[dict]: transform configs.
    """
    steps = raw_pipeline(pipeline) if raw else [copy.deepcopy(dict(t)) for t in pipeline]
    for step in steps:
        if _type_name(step) == 'PackPoseInputs':
            step['pack_transformed'] = True
    return steps


def map_pipelines(dataset_cfg: Mapping[str, Any], fn: Callable[[list], list]) -> dict:
    """Apply ``fn`` to every ``pipeline`` of a dataset config, wrappers included
    (``dataset`` of ``RepeatDataset``/``ClassBalancedDataset``, ``datasets`` of
    ``ConcatDataset``/``CombinedDataset``).

    Args:
        dataset_cfg (Mapping): a dataset config.
        fn (Callable[[list], list]): pipeline -> new pipeline.

    Returns:
        dict: a new config.
    """
    out = dict(dataset_cfg)
    if out.get('pipeline') is not None:
        out['pipeline'] = fn(list(out['pipeline']))
    if isinstance(out.get('dataset'), Mapping):
        out['dataset'] = map_pipelines(out['dataset'], fn)
    if isinstance(out.get('datasets'), (list, tuple)):
        out['datasets'] = [map_pipelines(d, fn) for d in out['datasets']]
    return out


def dataset_config(cfg, split: str) -> dict:
    """``cfg.{split}_dataloader.dataset``, checked.

    Args:
        cfg (mmengine.Config): the config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        dict: a copy of the dataset config.

    Raises:
        BrowseError: an unknown split, or one the config has no dataset for
            (names the splits it has).
    """
    if split not in SPLITS:
        raise BrowseError(f'unknown split {split!r}; choose one of {list(SPLITS)}')
    have = [s for s in SPLITS if (cfg.get(f'{s}_dataloader') or {}).get('dataset')]
    loader = cfg.get(f'{split}_dataloader') or {}
    if not loader.get('dataset'):
        raise BrowseError(f'{getattr(cfg, "filename", None) or "the config"} has no '
                          f'{split}_dataloader.dataset; it has datasets for splits {have}')
    return copy.deepcopy(loader['dataset'].to_dict() if hasattr(loader['dataset'], 'to_dict')
                         else dict(loader['dataset']))


def build_browse_dataset(cfg, split: str = 'train', raw: bool = False):
    """Build a config's dataset for browsing, in the config's toolbox.

    Args:
        cfg (mmengine.Config): an mmseg / mmdet / mmpose config
            (``default_scope``; ``custom_imports`` are imported).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        raw (bool): load and pack only (see :func:`raw_pipeline`).

    Returns:
        the built dataset.

    Raises:
        BrowseError: a bad split (see :func:`dataset_config`) or an empty dataset.
    """
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.utils import import_modules_from_strings

    dataset_cfg = dataset_config(cfg, split)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope')
    registry = DATASETS
    if scope:
        init_default_scope(scope)
        registry = importlib.import_module(f'{scope}.registry').DATASETS
    dataset_cfg = map_pipelines(dataset_cfg, lambda p: browsing_pipeline(p, raw))
    where = {k: dataset_cfg.get(k) for k in ('data_root', 'ann_file', 'split', 'data_prefix')
             if dataset_cfg.get(k) is not None}
    empty = BrowseError(
        f'the {split} dataset ({dataset_cfg.get("type")}, {where}) of '
        f'{getattr(cfg, "filename", None) or "the config"} is empty: check its data_root '
        f'and annotation files (--cfg-options {split}_dataloader.dataset.data_root=DIR)')
    try:
        dataset = registry.build(dataset_cfg)
    except ValueError as err:
        # mmengine's BaseDataset serializes its data list with np.concatenate,
        # which fails on an empty list before len() could be asked
        if 'need at least one array to concatenate' in str(err):
            raise empty from err
        raise
    if len(dataset) == 0:
        raise empty
    return dataset


@dataclass
class BrowseResult:
    """What :func:`browse_dataset` wrote.

    Args:
        task (str): the task drawn (:data:`.overlay.TASKS`).
        files (list[str]): the PNG grids, in order.
        num_samples (int): samples drawn.
        geometries (list[GridGeometry]): each grid's layout.
        tile_shapes (list[tuple]): ``(H, W, 3)`` of each drawn sample.
    """
    task: str
    files: List[str] = field(default_factory=list)
    num_samples: int = 0
    geometries: List[GridGeometry] = field(default_factory=list)
    tile_shapes: List[tuple] = field(default_factory=list)


def browse_dataset(cfg, out_dir: str, split: str = 'train', num: int = 16, cols: int = 4,
                   max_rows: Optional[int] = None, raw: bool = False, with_labels: bool = True,
                   channel_order: str = 'bgr', pad: int = 2, scale: int = 1,
                   progress: bool = True) -> BrowseResult:
    """Draw the first ``num`` samples of a config's dataset and write them as PNG grids.

    The task (semantic, depth, instance, pose) is read from the packed data
    samples, and each is drawn by its toolbox's visualizer; the config's
    ``visualizer`` drawing options apply when it is that visualizer.

    Args:
        cfg (mmengine.Config): the config.
        out_dir (str): folder of the grids, ``{split}_{task}_{page:03d}.png``.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        num (int): number of samples (fewer if the dataset is smaller).
        cols (int): columns per grid.
        max_rows (int, optional): rows per grid; more samples go to further
            grids. Default: one grid.
        raw (bool): load and pack only, no augmentation (:func:`raw_pipeline`).
        with_labels (bool): class names on semantic masks.
        channel_order (str): channel order the pipeline loads (``'bgr'``).
        pad (int): pixels between tiles.
        scale (int): integer up-scaling of the written grids.
        progress (bool): show mmengine's progress bar.

    Returns:
        BrowseResult: the task, files and grid layouts.
    """
    from mmengine.utils import ProgressBar

    if int(num) < 1:
        raise BrowseError(f'num must be >= 1, got {num}')
    if max_rows is not None and int(max_rows) < 1:
        raise BrowseError(f'max_rows must be >= 1, got {max_rows}')
    dataset = build_browse_dataset(cfg, split, raw)
    count = min(int(num), len(dataset))
    bar = ProgressBar(count) if progress else None
    result, visualizer, tiles = None, None, []
    for index in range(count):
        item = dataset[index]
        if item is None:
            raise BrowseError(f'sample {index} of the {split} dataset was dropped by its pipeline')
        data_sample = item['data_samples']
        if result is None:
            result = BrowseResult(task=detect_task(data_sample))
            visualizer = build_visualizer(result.task, dataset.metainfo, cfg.get('visualizer'))
        image = sample_image(item['inputs'], channel_order)
        tiles.append(draw_sample(visualizer, result.task, image, data_sample, with_labels,
                                 name=f'{split}_{index}'))
        if bar is not None:
            bar.update()
    per_grid = len(tiles) if max_rows is None else int(cols) * int(max_rows)
    for page, start in enumerate(range(0, len(tiles), per_grid)):
        chunk = tiles[start:start + per_grid]
        path = osp.join(out_dir, f'{split}_{result.task}_{page:03d}.png')
        result.files.append(save_png(tile_images(chunk, cols, pad), path, scale))
        result.geometries.append(grid_geometry([t.shape for t in chunk], cols, pad))
    result.num_samples = len(tiles)
    result.tile_shapes = [t.shape for t in tiles]
    return result
