"""Generated semantic segmentation data as an MMSegmentation dataset."""
import os.path as osp
from typing import List, Mapping, Optional, Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset

from mmdatasetdm.fileio import (DATASET_META, IGNORE_INDEX, read_dataset_meta, read_semantic,
                                sample_file)
from mmdatasetdm.registry import DATASETS
from .seg_predictions import read_seg_predictions_meta
from .synthetic import NamedLoadErrorsMixin, class_id_map, resolve_metainfo, select_samples

CONFIDENCE_TRANSFORM = 'mmdatasetdm.IgnoreUncertainPixels'
AGREEMENT_TRANSFORM = 'mmdatasetdm.IgnoreDisagreement'


def with_transform_after_loading(pipeline: Sequence, transform: str, option: str) -> list:
    """``pipeline`` with ``transform`` (a registered type) right after its ``LoadAnnotations``
    (once); ``option`` is the dataset argument that asks for it, named in errors."""
    pipeline = list(pipeline)
    types = [str(t.get('type', '')) if isinstance(t, Mapping) else type(t).__name__
             for t in pipeline]
    if any(t.split('.')[-1] == transform.split('.')[-1] for t in types):
        return pipeline
    loads = [k for k, t in enumerate(types) if t.split('.')[-1] == 'LoadAnnotations']
    if not loads:
        raise ValueError(f'{option} needs a LoadAnnotations in the dataset\'s pipeline '
                         f'(it applies to the loaded mask), got {types}')
    pipeline.insert(loads[0] + 1, dict(type=transform))
    return pipeline


def with_confidence_transform(pipeline: Sequence) -> list:
    """``pipeline`` with ``IgnoreUncertainPixels`` right after its ``LoadAnnotations`` (once)."""
    return with_transform_after_loading(pipeline, CONFIDENCE_TRANSFORM, 'min_pixel_confidence')


@DATASETS.register_module()
class SyntheticSegDataset(NamedLoadErrorsMixin, BaseSegDataset):
    """Images and semantic masks written by ``tools/generate.py``.

    Label ids are mapped onto the real dataset's classes by name (through each
    sample's ``label_map``, which mmseg's ``LoadAnnotations`` applies), so the
    dataset's metainfo is exactly the real dataset's and it mixes with it in
    mmengine's ``ConcatDataset`` and the stock transforms unchanged.

    Every label id must be one of the classes ``dataset.json`` declares (or
    255, ignore): an id outside them would pass through the ``label_map``
    unmapped and become an unrelated real class. The ids each manifest line
    records (``scores.class_fractions``) are checked on load; with
    ``verify=True`` every mask is decoded and checked too.

    Args:
        data_root (str): the generated dataset folder.
        metainfo (dict, optional): the real dataset's metainfo (``classes``,
            ``palette``).
        metainfo_from (str, optional): instead of ``metainfo``, the registered
            type of the real dataset (e.g. ``'PascalVOCDataset'``) whose
            ``METAINFO`` to take.
        class_map (Mapping[str, str], optional): generator name -> real name.
        drop_classes (Sequence[str]): generator classes to ignore (255).
        classes_filter (Sequence[str], optional): keep samples whose prompt
            names one of these generator classes.
        min_score (float, optional): keep samples whose
            ``scores.mean_confidence`` reaches this.
        max_samples (int, optional): keep at most this many (in index order).
        min_pixel_confidence (float, optional): ignore (255) the pixels whose
            label confidence is below this, read from the confidence map the
            generation run wrote beside each mask (``writer=dict(confidence=True)``;
            a set without them is refused). The transform
            :class:`~mmdatasetdm.datasets.transforms.IgnoreUncertainPixels` is
            placed right after the pipeline's ``LoadAnnotations``.
        agreement_root (str, optional): a folder of a trained segmentor's
            predictions on this set (``tools/predict_synthetic.py``, with the real
            dataset's classes): the pixels whose generated label the prediction
            contradicts are ignored (255), through
            :class:`~mmdatasetdm.datasets.transforms.IgnoreDisagreement` placed right
            after ``LoadAnnotations``. Predictions of another set, or of a model with
            other classes, are refused.
        agreement_keeps_prompted (bool): with ``agreement_root``, keep the pixels
            labelled with a class the sample's prompt named, whatever the prediction.
            Off by default: on the demo world it scored lower than ignoring every
            disagreeing pixel (docs/results.md, levers of label quality).
        verify (bool): decode-check every file while loading, and every
            mask's ids (clear errors for corrupt PNGs and stray ids; slower).
        **kwargs: ``BaseSegDataset`` arguments (``pipeline``, ``serialize_data``...).
    """

    METAINFO = dict()

    def __init__(self, data_root: str, metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None, class_map: Optional[Mapping] = None,
                 drop_classes: Sequence[str] = (), classes_filter: Optional[Sequence[str]] = None,
                 min_score: Optional[float] = None, max_samples: Optional[int] = None,
                 min_pixel_confidence: Optional[float] = None,
                 agreement_root: Optional[str] = None, agreement_keeps_prompted: bool = False,
                 verify: bool = False, **kwargs):
        from mmseg.registry import DATASETS as SEG_DATASETS
        metainfo = resolve_metainfo(metainfo, metainfo_from, SEG_DATASETS, type(self).__name__)
        if 'classes' not in metainfo:
            raise ValueError('SyntheticSegDataset needs the real dataset\'s metainfo (at least '
                             '`classes`, and `palette` to mix in ConcatDataset), or metainfo_from')
        self.class_map = dict(class_map or {})
        self.drop_classes = list(drop_classes)
        self.classes_filter = None if classes_filter is None else list(classes_filter)
        self.min_score = min_score
        self.max_samples = max_samples
        self.verify = verify
        self.min_pixel_confidence = min_pixel_confidence
        if min_pixel_confidence is not None:
            if not 0 <= min_pixel_confidence <= 1:
                raise ValueError(f'min_pixel_confidence must lie in [0, 1], got '
                                 f'{min_pixel_confidence}')
            kwargs['pipeline'] = with_confidence_transform(kwargs.get('pipeline') or [])
        self.agreement_root = agreement_root
        self.agreement_keeps_prompted = bool(agreement_keeps_prompted)
        if agreement_root is not None:
            kwargs['pipeline'] = with_transform_after_loading(
                kwargs.get('pipeline') or [], AGREEMENT_TRANSFORM, 'agreement_root')
        kwargs.setdefault('img_suffix', '')
        kwargs.setdefault('seg_map_suffix', '')
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        meta = read_dataset_meta(self.data_root)
        generator_classes = meta.get('classes')
        if not generator_classes:
            raise ValueError(f'{osp.join(self.data_root, DATASET_META)} names no classes; '
                             'regenerate it with a current tools/generate.py')
        mapping = class_id_map(generator_classes, self._metainfo['classes'], self.class_map,
                               self.drop_classes, source=self.data_root)
        lines = select_samples(self.data_root, self.classes_filter, self.min_score,
                               max_samples=self.max_samples, verify=self.verify,
                               filters='classes_filter/min_score/max_samples')
        label_map = None if all(k == v for k, v in mapping.items()) else mapping
        if self.agreement_root is not None:
            read_seg_predictions_meta(self.agreement_root, self.data_root,
                                      self._metainfo['classes'])
        data_list = []
        for line in lines:
            files = line['files']
            if 'semantic' not in files:
                raise ValueError(f'sample {line["index"]} of {self.data_root} has no semantic '
                                 'mask: the dataset was not generated by a semantic decoder')
            seg_map_path = osp.join(self.data_root, files['semantic'])
            recorded = (line.get('scores') or {}).get('class_fractions')
            if recorded is not None:
                self._check_ids((int(k) for k in recorded), generator_classes, seg_map_path,
                                'its manifest line records')
            if self.verify:
                ids = np.unique(read_semantic(seg_map_path))
                self._check_ids(ids[ids != IGNORE_INDEX].tolist(), generator_classes,
                                seg_map_path, 'the mask holds')
            data_list.append(dict(
                img_path=osp.join(self.data_root, files['image']),
                seg_map_path=seg_map_path,
                label_map=label_map, reduce_zero_label=False, seg_fields=[],
                prompt=line['prompt'], sample_idx=line['index'],
                **self.confidence_info(line, self.data_root),
                **self.agreement_info(line, generator_classes, mapping)))
        return data_list

    def agreement_info(self, line: dict, generator_classes: Sequence[str],
                       mapping: Mapping[int, int]) -> dict:
        """The data info items of ``agreement_root`` for one manifest line: the prediction's
        path and the (real) ids of the prompted classes to keep."""
        if self.agreement_root is None:
            return {}
        path = osp.join(self.agreement_root, sample_file('semantic', line['index'], 'png'))
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} is missing: the predictions in {self.agreement_root} do not cover '
                f'sample {line["index"]} of {self.data_root}; finish them with '
                'tools/predict_synthetic.py (it resumes)')
        keep = []
        if self.agreement_keeps_prompted:
            keep = sorted({mapping[generator_classes.index(name)]
                           for name in line.get('classes', []) if name in generator_classes}
                          - {IGNORE_INDEX})
        return dict(agreement_path=path, agreement_keep_ids=keep)

    def confidence_info(self, line: dict, folder: str) -> dict:
        """The data info items of ``min_pixel_confidence`` for one manifest line."""
        if self.min_pixel_confidence is None:
            return {}
        if 'confidence' not in line['files']:
            raise ValueError(
                f'sample {line["index"]} of {folder} has no confidence map, which '
                f'min_pixel_confidence={self.min_pixel_confidence} needs: generate the set with '
                "writer=dict(confidence=True) (tools/generate.py ... --cfg-options "
                'writer.confidence=True)')
        return dict(confidence_path=osp.join(folder, line['files']['confidence']),
                    min_pixel_confidence=self.min_pixel_confidence)

    def _check_ids(self, ids, classes: Sequence[str], path: str, source: str) -> None:
        bad = sorted(i for i in set(ids) if not 0 <= i < len(classes))
        if bad:
            raise ValueError(f'{path}: {source} class id {bad[0]}'
                             + (f' (and {bad[1:]})' if len(bad) > 1 else '')
                             + f', but {osp.join(self.data_root, DATASET_META)} declares '
                             f'{len(classes)} classes {list(classes)} (ids 0-{len(classes) - 1}, '
                             f'{IGNORE_INDEX} = ignore): the mask and dataset.json are from '
                             'different runs')
