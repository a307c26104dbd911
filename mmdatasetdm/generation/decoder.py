"""A trained P-Decoder, loaded for annotating generated images."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from mmdatasetdm.diffusion import SampleBatch
from mmdatasetdm.fileio import TASKS, file_sha256


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
    """

    def __init__(self, config: str, checkpoint: str, cfg_options: Optional[dict] = None,
                 device: str = 'cpu', expected_task: Optional[str] = None,
                 expected_classes: Optional[Sequence[str]] = None):
        if not osp.isfile(config):
            raise FileNotFoundError(f'P-Decoder config {config} does not exist')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'P-Decoder checkpoint {checkpoint} does not exist '
                                    '(train one with tools/train.py <pdecoder config>)')
        cfg = Config.fromfile(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmdatasetdm'))
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
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                               revise_keys=[(r'^module\.', '')])
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
        self.checkpoint_hash = file_sha256(checkpoint)
        self.cfg = cfg
        self.model = model.to(device).eval()

    @property
    def backbone(self):
        return self.model.backbone

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
            from mmengine.structures import InstanceData
            from mmpose.structures import PoseDataSample as Sample
        samples = []
        for prompt in batch.pyramid.prompts:
            sample = Sample(metainfo=dict(meta, prompt=prompt))
            if self.task == 'pose':
                # top-down on the whole generated image: one subject per prompt
                sample.set_metainfo(dict(input_size=(width, height),
                                         input_center=np.array([width / 2, height / 2]),
                                         input_scale=np.array([width, height], dtype=np.float32)))
                sample.gt_instances = InstanceData(
                    bboxes=np.array([[0, 0, width, height]], dtype=np.float32),
                    bbox_scores=np.ones(1, dtype=np.float32))
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
        images = torch.from_numpy(batch.images[..., ::-1].copy()).permute(0, 3, 1, 2)  # RGB->BGR
        data = self.model.data_preprocessor(
            dict(inputs=list(images.float()), data_samples=self._samples(batch)), False)
        pyramid = batch.pyramid.to(device=data['inputs'].device)
        with self.model.use_features(pyramid):
            return self.model.predict(data['inputs'], data['data_samples'])
