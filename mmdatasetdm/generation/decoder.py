"""A trained P-Decoder, loaded for annotating generated images."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from mmdatasetdm.diffusion import SampleBatch, tensors_sha256
from mmdatasetdm.fileio import TASKS


def attention_boxes(attention: Dict[int, torch.Tensor], positions: Sequence[int],
                    image_size: Sequence[int], threshold: float = 0.5,
                    min_area_fraction: float = 0.01) -> np.ndarray:
    """Boxes of the separate regions where a word's cross-attention is strong.

    The maps of the word's tokens are summed per stride, resized to the image,
    averaged over strides and divided by their maximum; every connected region
    above ``threshold`` that covers at least ``min_area_fraction`` of the image
    is one box (e.g. one person of "two people on grass").

    Args:
        attention (dict[int, Tensor]): stride -> (T, h, w) maps of one image.
        positions (Sequence[int]): the word's token positions.
        image_size (Sequence[int]): (H, W) of the image.
        threshold (float): fraction of the map's maximum that belongs to a region.
        min_area_fraction (float): smaller regions are dropped.

    Returns:
        np.ndarray: float32 (N, 4) boxes ``x1, y1, x2, y2`` in pixels, largest
        region first; empty when the word has no position or no region.
    """
    from scipy import ndimage
    height, width = int(image_size[0]), int(image_size[1])
    if not positions or not attention:
        return np.zeros((0, 4), np.float32)
    maps = []
    for amap in attention.values():
        word = amap[list(positions)].float().sum(0)[None, None]
        maps.append(torch.nn.functional.interpolate(word.cpu(), size=(height, width),
                                                    mode='bilinear', align_corners=False)[0, 0])
    heat = torch.stack(maps).mean(0).numpy()
    if not heat.max() > 0:
        return np.zeros((0, 4), np.float32)
    regions, _ = ndimage.label(heat >= threshold * heat.max())
    boxes = []
    for k, found in enumerate(ndimage.find_objects(regions), start=1):
        area = int((regions[found] == k).sum())
        if area >= min_area_fraction * height * width:
            ys, xs = found
            boxes.append((area, [xs.start, ys.start, xs.stop, ys.stop]))
    boxes.sort(key=lambda item: -item[0])
    return np.asarray([b for _, b in boxes], np.float32).reshape(-1, 4)


POSE_BOXES = ('attention', 'image')


class PerceptionDecoder:
    """A P-Decoder model (its training config + checkpoint) that annotates
    :class:`~mmdatasetdm.diffusion.SampleBatch` es.

    The model's own ``DiffusionBackbone`` holds the frozen SD components: the
    generation engine samples with those, so the diffusion model is loaded once.

    Args:
        config (str): the P-Decoder's training config file.
        checkpoint (str): its checkpoint (loaded with ``weights_only=True``).
        cfg_options (dict, optional): overrides of the config (e.g. the SD folder).
        device (str): where to run.
        expected_task (str, optional): refuse a decoder of another task.
        expected_classes (Sequence[str], optional): refuse a decoder trained
            on other classes.
        pose_boxes (str): where a pose decoder looks for people:
            ``'attention'`` (default): the regions the person word's
            cross-attention picks (:func:`attention_boxes`), the whole image
            when it picks none; ``'image'``: the whole image, one person per
            image, for a generator whose attention does not localise people
            and a decoder trained on whole one-person images as well
            (:class:`~mmdatasetdm.datasets.transforms.PickPerson`).
    """

    def __init__(self, config: str, checkpoint: str, cfg_options: Optional[dict] = None,
                 device: str = 'cpu', expected_task: Optional[str] = None,
                 expected_classes: Optional[Sequence[str]] = None,
                 pose_boxes: str = 'attention'):
        if pose_boxes not in POSE_BOXES:
            raise ValueError(f'decoder.pose_boxes must be one of {POSE_BOXES}, got {pose_boxes!r}')
        self.pose_boxes = pose_boxes
        if not osp.isfile(config):
            raise FileNotFoundError(f'P-Decoder config {config} does not exist')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'P-Decoder checkpoint {checkpoint} does not exist '
                                    '(train one with tools/train.py <pdecoder config>)')
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmdatasetdm'))
        backbone = cfg.model.get('backbone', {})
        if backbone.get('dtype') == 'auto':
            # 'auto' means fp16 on a GPU; this decoder's device decides, not the host's GPUs
            backbone.dtype = 'fp16' if torch.device(device).type == 'cuda' else 'fp32'
        # a generated image is never seen twice: the training-time feature cache would only
        # grow (the pose decoder re-encodes every person crop through the backbone)
        backbone.pop('feature_cache', None)
        if cfg.model.get('test_cfg', {}).get('flip_test'):
            # the captured features are those of the generated view only: a flipped view
            # would be decoded from the unflipped features
            cfg.model.test_cfg.flip_test = False
        model = MODELS.build(cfg.model)
        self.task = getattr(model, 'task', '')
        if self.task not in TASKS:
            raise TypeError(f'{config}: model {type(model).__name__} is not a P-Decoder model '
                            f'(expected a class with task in {TASKS})')
        if expected_task is not None and expected_task != self.task:
            raise ValueError(f'{checkpoint} is a {self.task} decoder but the generation config '
                             f'asks for {expected_task!r} annotations')
        try:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                                   revise_keys=[(r'^module\.', '')])
        except Exception as err:  # torch, pickle and mmengine raise many types
            raise RuntimeError(f'P-Decoder checkpoint {checkpoint} cannot be loaded into the '
                               f'model of {config}: {type(err).__name__}: {err}') from err
        meta = ckpt.get('meta', {}) or {}
        if self.task == 'depth':
            # depth has no label classes (mmseg's depth datasets carry scene names): the
            # classes a prompt may name are the words the backbone was trained to attend
            self.classes: List[str] = list(cfg.model.backbone.get('class_names') or ())
        else:
            self.classes = list((meta.get('dataset_meta') or {}).get('classes') or
                                (cfg.get('class_names') or ()))
        if expected_classes is not None and self.classes and \
                list(expected_classes) != self.classes:
            raise ValueError(f'{checkpoint} was trained on classes {self.classes} but the '
                             f'generation config names {list(expected_classes)}')
        self.dataset_meta = meta.get('dataset_meta') or dict(classes=self.classes)
        # classes whose labels the decoder's training hid (zero-shot): a decoder that labels
        # them (a WordAttentionHead) does so from their word's attention alone
        self.unseen_classes: List[str] = list(cfg.get('unseen_classes') or ())
        unknown = [c for c in self.unseen_classes if c not in self.classes]
        if unknown:
            raise ValueError(f'{config}: unseen_classes {unknown} are not classes of the '
                             f'decoder {self.classes}')
        # the weights, not the file (a runner checkpoint also holds a timestamp)
        self.weights_hash = tensors_sha256(model.state_dict())
        self.cfg = cfg
        self._pose_pipeline = None
        self.model = model.to(device).eval()

    @property
    def backbone(self):
        return self.model.backbone

    def keypoint_category(self) -> Optional[dict]:
        """The COCO category record of the people the pose decoder was trained on.

        Read from the training set's keypoint JSON (the config's
        ``train_dataloader`` dataset, built without loading its annotations),
        so a generated set says what the real set says (id, name,
        supercategory). None when that file is not on this machine.

        Returns:
            dict | None: ``id``, ``name``, ``supercategory`` (no keypoint lists).
        """
        import json

        from mmengine.registry import DATASETS
        dataset_cfg = self.cfg.get('train_dataloader', {}).get('dataset')
        while dataset_cfg is not None and 'ann_file' not in dataset_cfg and \
                isinstance(dataset_cfg.get('dataset'), dict):
            dataset_cfg = dataset_cfg['dataset']  # RepeatDataset and the like
        if dataset_cfg is None:
            return None
        try:
            dataset = DATASETS.build(dict(dataset_cfg, lazy_init=True, pipeline=[]))
            with open(dataset.ann_file) as f:
                categories = json.load(f).get('categories') or []
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for cat in categories:
            if cat.get('keypoints'):
                return {k: v for k, v in cat.items() if k not in ('keypoints', 'skeleton')}
        return None

    def _pose(self, batch: SampleBatch) -> list:
        """Top-down pose for every person the prompt's person word attends to.

        Each generated image's boxes come from the cross-attention of the
        person class's words (:func:`attention_boxes`; the whole image when
        the word finds no region, or always with ``pose_boxes='image'``).
        Every box is cropped with the decoder's own test pipeline
        (``GetBBoxCenterScale`` and ``TopdownAffine``, as in its training) and
        decoded from the backbone's features of that crop, so
        the decoder sees what it was trained on; mmpose maps the keypoints back
        to the image.

        Returns:
            list: one mmpose ``PoseDataSample`` per image, with the
            ``pred_instances`` of all its persons (their boxes included).
        """
        from mmengine.dataset import Compose
        from mmengine.structures import InstanceData
        from mmpose.structures import PoseDataSample
        if self._pose_pipeline is None:
            steps = self.cfg.test_dataloader.dataset.pipeline
            self._pose_pipeline = Compose([t for t in steps if 'Load' not in t['type']])
        height, width = batch.images.shape[1:3]
        person = self.classes[0] if self.classes else 'person'
        results = []
        for b, image in enumerate(batch.images):
            positions = (batch.pyramid.token_indices[b] if batch.pyramid.token_indices
                         else {}).get(person, [])
            attention = {s: a[b] for s, a in batch.pyramid.attention.items()}
            boxes = attention_boxes(attention, positions, (height, width)) \
                if self.pose_boxes == 'attention' else np.zeros((0, 4), np.float32)
            if not len(boxes):
                boxes = np.array([[0, 0, width, height]], np.float32)
            packed = [self._pose_pipeline(dict(
                img=np.ascontiguousarray(image[..., ::-1]), img_shape=(height, width),
                ori_shape=(height, width), bbox=box[None], bbox_score=np.ones(1, np.float32),
                id=k, img_id=b, img_path='', flip_indices=self.dataset_meta.get('flip_indices')))
                for k, box in enumerate(boxes)]
            data = self.model.data_preprocessor(
                dict(inputs=[p['inputs'] for p in packed],
                     data_samples=[p['data_samples'] for p in packed]), False)
            preds = self.model.predict(data['inputs'], data['data_samples'])
            sample = PoseDataSample(metainfo=dict(img_shape=(height, width),
                                                  ori_shape=(height, width)))
            sample.pred_instances = InstanceData.cat([p.pred_instances for p in preds])
            results.append(sample)
        return results

    def _samples(self, batch: SampleBatch):
        height, width = batch.images.shape[1:3]
        meta = dict(img_shape=(height, width), ori_shape=(height, width),
                    pad_shape=(height, width), scale_factor=(1.0, 1.0), flip=False,
                    flip_direction=None, batch_input_shape=(height, width))
        if self.task in ('semantic', 'depth'):
            from mmseg.structures import SegDataSample as Sample
        elif self.task == 'instance':
            from mmdet.structures import DetDataSample as Sample
        else:
            raise ValueError(f'{self.task} samples are built by _pose')
        samples = []
        for prompt in batch.pyramid.prompts:
            sample = Sample(metainfo=dict(meta, prompt=prompt))
            samples.append(sample)
        return samples

    @torch.no_grad()
    def __call__(self, batch: SampleBatch) -> list:
        """Decode the captured features of a batch with the toolbox's ``predict``.

        Returns:
            list: the toolbox's data samples with predictions
            (``pred_sem_seg``/``seg_logits``, ``pred_instances``,
            ``pred_depth_map``, or pose ``pred_instances``).
        """
        if self.task == 'pose':
            return self._pose(batch)
        images = torch.from_numpy(batch.images[..., ::-1].copy()).permute(0, 3, 1, 2)  # RGB->BGR
        data = self.model.data_preprocessor(
            dict(inputs=list(images.float()), data_samples=self._samples(batch)), False)
        pyramid = batch.pyramid.to(device=data['inputs'].device)
        with self.model.use_features(pyramid):
            return self.model.predict(data['inputs'], data['data_samples'])
