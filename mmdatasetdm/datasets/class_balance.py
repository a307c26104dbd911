"""Pixel frequency of each class in a segmentation dataset, and loss weights from it.

Long-tailed label sets (a benchmark's 100 labelled images, the demo world's
training splits) leave a plain cross-entropy with too little signal on the rare
classes. Median-frequency balancing (Eigen & Fergus, 2015) weighs class ``c``
by ``median(f) / f_c``, with ``f_c`` the share of labelled pixels that belong
to ``c``; the power ``0.5`` (its square root) is the milder variant the demo
configs use. The label maps are read with mmseg's own ``LoadAnnotations``, so
``reduce_zero_label``, ``label_map`` and the ignore index behave as in training.
"""
from typing import Optional, Sequence

import numpy as np


def pixel_class_frequencies(dataset, num_classes: Optional[int] = None,
                            ignore_index: int = 255, progress: bool = False) -> np.ndarray:
    """Share of the labelled pixels of a segmentation dataset in each class.

    Args:
        dataset: An mmseg dataset (``BaseSegDataset`` or an mmengine
            ``ConcatDataset`` of them); each data info needs ``seg_map_path``.
        num_classes (int, optional): Number of classes (default: the length
            of the dataset's ``metainfo['classes']``).
        ignore_index (int): Label of pixels that are not counted.
        progress (bool): Show mmengine's progress bar.

    Returns:
        numpy.ndarray: float64 ``(num_classes,)``, summing to 1.

    Raises:
        ValueError: If the dataset is empty, has no ``seg_map_path`` or no
            labelled pixel, or a label map holds an id >= ``num_classes``.
    """
    from mmengine.utils import ProgressBar
    from mmseg.datasets.transforms import LoadAnnotations

    if num_classes is None:
        num_classes = len(dataset.metainfo['classes'])
    if len(dataset) == 0:
        raise ValueError('the dataset is empty: no label maps to count')
    load = LoadAnnotations()
    counts = np.zeros(num_classes, dtype=np.int64)
    bar = ProgressBar(len(dataset)) if progress else None
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if not info.get('seg_map_path'):
            raise ValueError(f'sample {index} of {type(dataset).__name__} has no seg_map_path; '
                             'class frequencies need a semantic segmentation dataset')
        results = load(dict(seg_map_path=info['seg_map_path'], seg_fields=[],
                            reduce_zero_label=info.get('reduce_zero_label', False),
                            label_map=info.get('label_map')))
        labels = results['gt_seg_map']
        labels = labels[labels != ignore_index]
        if labels.size and labels.max() >= num_classes:
            raise ValueError(f'{info["seg_map_path"]}: label {int(labels.max())} is not a class '
                             f'id (expected 0..{num_classes - 1} or {ignore_index})')
        counts += np.bincount(labels.ravel(), minlength=num_classes)
        if bar is not None:
            bar.update()
    if counts.sum() == 0:
        raise ValueError('no labelled pixel in the dataset (all are ignore_index)')
    return counts / counts.sum()


def median_frequency_weights(frequencies: Sequence[float], power: float = 0.5,
                             class_names: Optional[Sequence[str]] = None) -> np.ndarray:
    """Class weights ``(median(f) / f_c) ** power`` (median-frequency balancing).

    Args:
        frequencies (Sequence[float]): Pixel share of each class.
        power (float): 1 is plain median-frequency balancing, 0.5 its square
            root, 0 no weighting.
        class_names (Sequence[str], optional): Names for the error message.

    Returns:
        numpy.ndarray: One weight per class; the median class gets 1.

    Raises:
        ValueError: If a class has no pixels (its weight would be infinite).
    """
    freq = np.asarray(frequencies, dtype=np.float64)
    missing = np.flatnonzero(freq <= 0)
    if missing.size:
        names = [class_names[i] if class_names else str(i) for i in missing]
        raise ValueError(f'classes {names} have no pixels; median-frequency weights need every '
                         'class present (use a larger split or set their weight by hand)')
    return (np.median(freq) / freq) ** power
