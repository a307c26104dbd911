"""Draw a toolbox data sample's ground truth over its image, with the toolbox's own visualizer.

One task per data sample, each drawn by its toolbox:

==========  ======================================  ============================
task        data sample                             visualizer
==========  ======================================  ============================
semantic    mmseg ``SegDataSample.gt_sem_seg``      mmseg ``SegLocalVisualizer``
depth       mmseg ``SegDataSample.gt_depth_map``    mmseg ``SegLocalVisualizer``
                                                    (image above its colour map)
instance    mmdet ``DetDataSample.gt_instances``    mmdet ``DetLocalVisualizer``
pose        mmpose ``PoseDataSample.gt_instances``  mmpose ``PoseLocalVisualizer``
==========  ======================================  ============================
"""
import importlib
import itertools
from typing import Any, Mapping, Optional

import numpy as np

from mmdatasetdm.fileio import TASKS, voc_palette

# task -> (toolbox scope, visualizer type)
VISUALIZERS = dict(semantic=('mmseg', 'SegLocalVisualizer'), depth=('mmseg', 'SegLocalVisualizer'),
                   instance=('mmdet', 'DetLocalVisualizer'), pose=('mmpose', 'PoseLocalVisualizer'))
# constructor arguments of a config's visualizer that do not concern drawing
_NOT_DRAWING = ('type', 'name', 'vis_backends', 'save_dir', 'image')
_names = itertools.count()


def detect_task(data_sample: Any) -> str:
    """The task whose ground truth a packed data sample holds.

    Args:
        data_sample: an mmseg ``SegDataSample``, mmdet ``DetDataSample`` or
            mmpose ``PoseDataSample`` (as packed by ``PackSegInputs``,
            ``PackDetInputs``, ``PackPoseInputs``).

    Returns:
        str: one of :data:`TASKS`.

    Raises:
        ValueError: the sample holds no ground truth this module can draw.
    """
    kinds = {cls.__name__ for cls in type(data_sample).__mro__}
    keys = set(data_sample.keys()) if hasattr(data_sample, 'keys') else set()
    if 'PoseDataSample' in kinds:
        return 'pose'
    if 'DetDataSample' in kinds and 'gt_instances' in keys:
        return 'instance'
    if 'gt_depth_map' in keys:
        return 'depth'
    if 'gt_sem_seg' in keys:
        return 'semantic'
    if 'gt_instances' in keys:
        return 'pose' if 'keypoints' in data_sample.gt_instances else 'instance'
    raise ValueError(
        f'cannot tell the task of a {type(data_sample).__name__} with fields {sorted(keys)}: '
        'expected gt_sem_seg, gt_depth_map or gt_instances (does the pipeline end in '
        'PackSegInputs, PackDetInputs or PackPoseInputs, and load the annotations?)')


def default_palette(num_classes: int) -> list:
    """Distinct, reproducible colours: the VOC palette (class 0 black),
    repeated after 255 classes.

    Args:
        num_classes (int): number of colours.

    Returns:
        list[tuple[int, int, int]]: RGB colours.
    """
    colors = voc_palette(256)
    return [tuple(int(v) for v in colors[c % 255]) for c in range(int(num_classes))]


def build_visualizer(task: str, dataset_meta: Mapping[str, Any],
                     cfg: Optional[Mapping[str, Any]] = None):
    """The task's toolbox visualizer, set up with the dataset's metainfo.

    Args:
        task (str): one of :data:`TASKS`.
        dataset_meta (Mapping): the dataset's ``metainfo`` (``classes`` and
            ``palette``; for pose mmpose's parsed keypoint metainfo).
        cfg (Mapping, optional): a config's ``visualizer`` dict; its drawing
            options (``alpha``, colours, ...) are used when its type is the
            task's visualizer, its backends and name are not.

    Returns:
        mmengine.visualization.Visualizer: a new instance (unique name) with
        no storage backend.
    """
    if task not in VISUALIZERS:
        raise ValueError(f'unknown task {task!r}; expected one of {TASKS}')
    scope, type_name = VISUALIZERS[task]
    kwargs = {}
    if cfg is not None and str(cfg.get('type', '')).split('.')[-1] == type_name:
        kwargs = {k: v for k, v in dict(cfg).items() if k not in _NOT_DRAWING}
    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').VISUALIZERS
    # in the toolbox's scope whatever the current default scope is (a build
    # switches to the default scope's registry)
    with DefaultScope.overwrite_default_scope(scope):
        visualizer = registry.build(dict(type=type_name, name=f'mmdatasetdm_{task}_{next(_names)}',
                                         **kwargs))
    meta = dict(dataset_meta or {})
    if task == 'pose':
        visualizer.set_dataset_meta(meta)
    elif task in ('semantic', 'instance'):
        classes = list(meta.get('classes') or [])
        if not classes:
            raise ValueError(f'drawing {task} annotations needs the dataset\'s classes (metainfo)')
        palette = meta.get('palette')
        if not palette or len(palette) < len(classes):
            palette = default_palette(len(classes))
        palette = [tuple(int(v) for v in c) for c in palette[:len(classes)]]
        if task == 'semantic':
            visualizer.set_dataset_meta(classes=classes, palette=palette)
        else:
            visualizer.dataset_meta = dict(classes=classes, palette=palette)
    return visualizer


def sample_image(inputs: Any, channel_order: str = 'bgr') -> np.ndarray:
    """A packed input image as the uint8 RGB array the visualizers take.

    Args:
        inputs (Tensor | np.ndarray): (C, H, W), as packed by the toolboxes'
            ``Pack*Inputs`` (C = 1 or 3).
        channel_order (str): the loaded channel order, ``'bgr'`` (mmcv's
            ``LoadImageFromFile`` default) or ``'rgb'``.

    Returns:
        np.ndarray: uint8 (H, W, 3) RGB.
    """
    array = inputs.detach().cpu().numpy() if hasattr(inputs, 'detach') else np.asarray(inputs)
    if array.ndim != 3:
        raise ValueError(f'expected a (C, H, W) image, got shape {array.shape}')
    image = np.clip(array.transpose(1, 2, 0), 0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    return np.ascontiguousarray(image[..., ::-1] if channel_order == 'bgr' else image)


def draw_sample(visualizer, task: str, image: np.ndarray, data_sample: Any,
                with_labels: bool = True, name: str = 'sample') -> np.ndarray:
    """Draw a data sample's ground truth over ``image``.

    Args:
        visualizer: from :func:`build_visualizer` for ``task``.
        task (str): one of :data:`TASKS`.
        image (np.ndarray): uint8 (H, W, 3) RGB, the sample's (transformed) image.
        data_sample: the packed data sample.
        with_labels (bool): write class names on semantic masks.
        name (str): image name given to the visualizer.

    Returns:
        np.ndarray: uint8 RGB; (H, W, 3), or (2H, W, 3) for depth (image above
        the colour-mapped depth).
    """
    kwargs = dict(draw_gt=True, draw_pred=False, show=False)
    if task == 'semantic':
        kwargs['with_labels'] = with_labels
    if task == 'instance' and hasattr(data_sample.gt_instances.get('bboxes'), 'tensor'):
        # PackDetInputs packs box objects (HorizontalBoxes); the visualizer draws tensors
        data_sample = data_sample.clone()
        data_sample.gt_instances.bboxes = data_sample.gt_instances.bboxes.tensor
    visualizer.add_datasample(name, image, data_sample, **kwargs)
    return np.ascontiguousarray(visualizer.get_image())
