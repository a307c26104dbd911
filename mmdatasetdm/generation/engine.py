"""The generation engine: prompts -> images + annotations, sharded and resumable.

One engine serves every task and dataset; configs say what to generate::

    decoder = dict(config=..., checkpoint=..., cfg_options=dict(...))
    prompts = dict(source=dict(type='TemplatePrompts', classes=[...]), seed=0)
    sampling = dict(steps=20, guidance_scale=7.5, scheduler=dict(type='DDIMScheduler'))
    filters = dict(min_confidence=0.5, min_class_fraction=0.01)
    writer = dict(image_ext='png', palette='voc')
    batch_size = 4
    num_samples = 1000

Work is cut into batches of ``batch_size`` consecutive sample indices, and
batch ``b`` goes to rank ``b % world_size``. A sample's prompt and seed depend
only on (seed, index) and a batch's members never depend on the number of
ranks, so 1 or N processes write byte-identical datasets. Each rank writes its
own shard (:class:`~mmdatasetdm.generation.writers.ShardWriter`, atomic files,
manifest line last); :func:`~mmdatasetdm.generation.writers.merge_shards`
builds one dataset.
"""
import json
import math
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict
from typing import Dict, Iterable, List, Optional, Sequence

from mmengine.utils import ProgressBar

from mmdatasetdm.diffusion import CaptureSampler, SamplingConfig
from mmdatasetdm.fileio import (DATASET_META, INSTANCES_JSON, KEYPOINTS_JSON, MANIFEST,
                                is_temp_name, list_shard_dirs, read_json, shard_dir)
from mmdatasetdm.fileio.synthetic_format import CARD_GALLERY, CARD_README, SAMPLE_DIRS, SHARDS_DIR
from mmdatasetdm.utils import library_versions
from .annotations import ANNOTATORS, PROMPTED_CLASS_TRUNCATED, FilterConfig, reject
from .card import record_command
from .decoder import PerceptionDecoder
from .prompts import PromptSampler
from .stream import STREAM_ENTRIES
from .writers import KeypointMeta, ShardWriter, describe_differences, merge_shards

# what a run may find in its output folder: its own shards and what merging them wrote
RUN_ENTRIES = (SHARDS_DIR, DATASET_META, MANIFEST, INSTANCES_JSON, KEYPOINTS_JSON, CARD_README,
               CARD_GALLERY) + SAMPLE_DIRS
# and, in a stream folder (tools/generate.py --stream), the generator's and consumer's state
RUN_ENTRIES += STREAM_ENTRIES


class GenerationEngine:
    """Generate a labelled dataset with a trained P-Decoder.

    Args:
        decoder (dict): ``PerceptionDecoder`` kwargs (``config``,
            ``checkpoint``, ``cfg_options``).
        prompts (dict): ``PromptSampler`` kwargs (``source``, ``seed``,
            ``class_sampling``).
        num_samples (int | None): how many samples the dataset has; None for an
            open-ended run (:func:`~mmdatasetdm.generation.stream.run_stream`
            gives the batches).
        sampling (dict, optional): ``SamplingConfig`` kwargs. Unless it sets
            ``capture_step`` or ``capture_timestep``, features are read at the
            sampling step nearest the timestep the P-Decoder was trained at
            (its backbone's ``timestep``), so that the decoder sees features
            like those it learnt from.
        filters (dict, optional): ``FilterConfig`` kwargs.
        writer (dict, optional): ``ShardWriter`` kwargs (``image_ext``,
            ``palette``, ``depth_scale``, ``categories``, ``keep_rejected``,
            ``confidence``: per-pixel confidence maps of semantic labels),
            and for pose ``keypoint_category`` (the real set's COCO category
            record; default: read from the P-Decoder's training set).
        batch_size (int): images per sampling call.
        task (str, optional): expected task of the decoder.
        device (str): where to run.
    """

    def __init__(self, decoder: dict, prompts: dict, num_samples: Optional[int],
                 sampling: Optional[dict] = None, filters: Optional[dict] = None,
                 writer: Optional[dict] = None, batch_size: int = 4, task: Optional[str] = None,
                 device: str = 'cpu'):
        if num_samples is not None and num_samples <= 0:
            raise ValueError(f'num_samples must be positive, got {num_samples}')
        if batch_size <= 0:
            raise ValueError(f'batch_size must be positive, got {batch_size}')
        prompts = dict(prompts)
        classes = None
        if isinstance(prompts.get('source'), dict) and 'classes' in prompts['source']:
            classes = list(prompts['source']['classes'])
        self.decoder = PerceptionDecoder(**decoder, device=device, expected_task=task)
        self.task = self.decoder.task
        backbone = self.decoder.backbone
        self.prompts = PromptSampler(**prompts, num_prompts=num_samples,
                                     tokenizer=backbone.components.tokenizer)
        self._check_classes(classes or list(self.prompts.classes))
        sampling = dict(sampling or {})
        if sampling.get('capture_step') is None and sampling.get('capture_timestep') is None:
            sampling['capture_timestep'] = backbone.extractor.timestep
        self.sampling = SamplingConfig(**sampling)
        self.sampler = CaptureSampler(backbone.components, backbone.extractor.capture,
                                      self.sampling)
        self.filters = FilterConfig(**(filters or {}))
        self.writer_cfg = dict(writer or {})
        self.batch_size = int(batch_size)
        self.num_samples = None if num_samples is None else int(num_samples)
        # What the samples depend on; a resume with any of it changed is refused. Content,
        # not paths: the diffusion model's and the P-Decoder's weights, the prompt source's
        # files, and the versions of the libraries that compute them.
        self.identity = dict(prompts=json.loads(json.dumps(prompts, default=str)),
                             prompt_content=self.prompts.identity()['content'],
                             sampling=asdict(self.sampling), filters=asdict(self.filters),
                             batch_size=self.batch_size, num_samples=self.num_samples,
                             decoder=self.decoder.weights_hash,
                             **({} if self.decoder.pose_boxes == 'attention' else
                                dict(pose_boxes=self.decoder.pose_boxes)),
                             diffusion_model=backbone.components.fingerprint(),
                             versions=library_versions())

    @classmethod
    def from_config(cls, cfg, num_samples: Optional[int],
                    device: Optional[str] = None) -> 'GenerationEngine':
        """The engine a generation config describes (``decoder``, ``prompts``,
        ``sampling``, ``filters``, ``writer``, ``batch_size``, ``task``, ``device``).

        Args:
            cfg (Config | dict): the generation config.
            num_samples (int | None): samples of the run (None: open-ended).
            device (str, optional): overrides the config's ``device``.
        """
        return cls(decoder=cfg['decoder'], prompts=cfg['prompts'], num_samples=num_samples,
                   sampling=cfg.get('sampling'), filters=cfg.get('filters'),
                   writer=cfg.get('writer'), batch_size=cfg.get('batch_size', 4),
                   task=cfg.get('task'), device=device or cfg.get('device', 'cpu'))

    def _check_classes(self, prompt_classes: Sequence[str]):
        known = set(self.decoder.classes)
        unknown = [c for c in prompt_classes if known and c not in known]
        if unknown:
            raise ValueError(f'prompt classes {unknown} are not classes of the decoder '
                             f'(trained on {self.decoder.classes})')
        self.class_index = {c: i for i, c in enumerate(self.decoder.classes)}

    # ------------------------------------------------------------------ run
    def _writer(self, out_dir: str, rank: int) -> ShardWriter:
        cfg = dict(self.writer_cfg)
        if self.task == 'instance' and 'categories' not in cfg:
            cfg['categories'] = [dict(id=i + 1, name=c) for i, c in enumerate(self.decoder.classes)]
        if self.task == 'pose' and 'keypoint_meta' not in cfg:
            # the real set's category record (id, name, supercategory), not a made-up one
            category = cfg.pop('keypoint_category', None) or self.decoder.keypoint_category()
            cfg['keypoint_meta'] = KeypointMeta.from_metainfo(self.decoder.dataset_meta,
                                                              category=category)
        if self.task == 'semantic':
            cfg.setdefault('num_classes', len(self.decoder.classes))
        run_info = dict(timestep=self.sampler.capture_timestep(),
                        decoder_timestep=self.decoder.backbone.extractor.timestep,
                        scheduler=self.sampler.scheduler_name,
                        steps=self.sampling.steps, guidance=self.sampling.guidance_scale,
                        decoder=self.decoder.weights_hash, task=self.task)
        if self.decoder.unseen_classes:  # a zero-shot decoder: which labels it learnt from
            run_info.update(unseen_classes=self.decoder.unseen_classes,
                            seen_classes=[c for c in self.decoder.classes
                                          if c not in self.decoder.unseen_classes])
        return ShardWriter(shard_dir(out_dir, rank), run_info=run_info, config=self.identity,
                           classes=self.decoder.classes, **cfg)

    def check_output(self, out_dir: str) -> None:
        """Refuse an output folder that holds anything but this run's own files.

        Allowed: nothing, or this run's shards (``shards/``, checked against
        the run's identity by :class:`ShardWriter`) with what merging them
        wrote. Another dataset (merged files without ``shards/``, or a
        ``dataset.json`` of another run) and foreign files are refused, so
        nothing already there is overwritten or mixed into this run; see
        :meth:`empty_output`.

        Args:
            out_dir (str): the dataset folder.
        """
        if not osp.exists(out_dir):
            return
        if not osp.isdir(out_dir):
            raise NotADirectoryError(f'output folder {out_dir} is a file')
        entries = sorted(os.listdir(out_dir))
        if not entries:
            return
        # an atomic write in progress (or cut short) leaves a temporary name: not foreign
        foreign = [e for e in entries if e not in RUN_ENTRIES and not is_temp_name(e)]
        problem = None
        if foreign:
            problem = (f'it holds {foreign[:5]}{" ..." if len(foreign) > 5 else ""}, which '
                       'are not files of a generated dataset')
        elif SHARDS_DIR not in entries:
            problem = (f'it holds a generated dataset ({", ".join(entries)}) without the shards '
                       'of this run')
        elif DATASET_META in entries:
            config = read_json(osp.join(out_dir, DATASET_META)).get('config')
            mine = json.loads(json.dumps(self.identity))
            if config != mine:
                problem = ('its dataset.json is from another run; what differs (there -> '
                           'here):\n  ' + '\n  '.join(describe_differences(config, mine)))
        if problem:
            raise FileExistsError(f'output folder {out_dir} cannot take this run: {problem}\n'
                                  'choose a new output folder, or pass --overwrite (tools/'
                                  'generate.py) to empty this one first')

    @staticmethod
    def empty_output(out_dir: str) -> List[str]:
        """Delete everything inside ``out_dir`` (the folder itself stays).

        Args:
            out_dir (str): the output folder.

        Returns:
            list[str]: the removed top-level entries.
        """
        if not osp.isdir(out_dir):
            return []
        removed = sorted(os.listdir(out_dir))
        for name in removed:
            path = osp.join(out_dir, name)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        return removed

    def batches(self, rank: int = 0, world_size: int = 1) -> List[List[int]]:
        """The batches of sample indices this rank generates."""
        if self.num_samples is None:
            raise ValueError('an open-ended engine (num_samples=None) has no fixed batches')
        count = math.ceil(self.num_samples / self.batch_size)
        return [list(range(b * self.batch_size, min((b + 1) * self.batch_size, self.num_samples)))
                for b in range(count) if b % world_size == rank]

    def run(self, out_dir: str, rank: int = 0, world_size: int = 1, resume: bool = False,
            progress: bool = True, command: Optional[Sequence[str]] = None,
            batches: Optional[Iterable[Sequence[int]]] = None) -> Dict[str, int]:
        """Generate this rank's share into ``out_dir/shards/rank{rank:05d}``.

        Args:
            out_dir (str): the dataset folder.
            rank (int): this process's rank.
            world_size (int): number of processes.
            resume (bool): skip finished samples; without it, a shard that
                already holds samples is an error.
            progress (bool): show a progress bar (images/s, accepted ratio, ETA).
            command (Sequence[str], optional): the command line of this run
                (``sys.argv``). Rank 0 records it in its shard folder
                (``command.json``) for the dataset card when none is recorded
                yet; it is not part of the run's identity, so a resume may use
                another one.
            batches (Iterable[Sequence[int]], optional): the batches to
                generate instead of :meth:`batches`; may be lazy and block
                between batches (a stream's, see
                :func:`~mmdatasetdm.generation.stream.run_stream`). No progress
                bar then.

        Returns:
            dict: counts of generated, accepted and skipped samples.
        """
        self.check_output(out_dir)
        writer = self._writer(out_dir, rank)
        done = set(writer.completed())
        if done and not resume:
            raise FileExistsError(f'{writer.dir} already holds {len(done)} finished samples; pass '
                                  '--resume to continue, or choose a new output folder')
        if command is not None and rank == 0:
            record_command(out_dir, command)
        if batches is None:
            batches = self.batches(rank, world_size)
            todo = sum(len([i for i in b if i not in done]) for b in batches)
        else:
            todo = 0
        stats = dict(generated=0, accepted=0, skipped=len(done))
        bar = ProgressBar(todo) if progress and todo else None
        start = time.time()
        for indices in batches:
            missing = [i for i in indices if i not in done]
            if not missing:
                continue
            # the whole batch is re-sampled so its images match an uninterrupted run
            records = [self.prompts[i] for i in indices]
            batch = self.sampler([r.text for r in records], [r.seed for r in records],
                                 token_indices=[r.token_positions or {} for r in records])
            predictions = self.decoder(batch)
            for k, (record, pred) in enumerate(zip(records, predictions)):
                if record.index in done:
                    continue
                prompted = [self.class_index[c] for c in record.classes if c in self.class_index]
                ann = ANNOTATORS[self.task](pred, prompted, self.filters)
                if record.truncated:
                    limit = self.decoder.backbone.components.tokenizer.model_max_length
                    ann = reject(ann, PROMPTED_CLASS_TRUNCATED, classes=list(record.truncated),
                                 num_tokens=record.num_tokens, max_tokens=limit)
                writer.write_sample(record.index, record, image=batch.images[k],
                                    semantic=ann.semantic, confidence=ann.confidence,
                                    depth=ann.depth,
                                    instances=ann.instances, keypoints=ann.keypoints,
                                    accepted=ann.accepted, reason=ann.reason, scores=ann.scores)
                stats['generated'] += 1
                stats['accepted'] += int(ann.accepted)
                if bar is not None:
                    bar.update()
            if bar is not None:
                rate = stats['generated'] / max(time.time() - start, 1e-9)
                bar.file.write(f'  {rate:.2f} img/s, accepted {stats["accepted"]}/'
                               f'{stats["generated"]}\n')
        return stats

    @staticmethod
    def merge(out_dir: str, card: Optional[bool] = None) -> dict:
        """Merge every shard of ``out_dir`` into one dataset in ``out_dir``.

        Args:
            out_dir (str): the dataset folder.
            card (bool, optional): write the dataset card (``README.md``,
                ``gallery.png``, ``card`` in ``dataset.json``; see
                :mod:`mmdatasetdm.generation.card`); default: when the folder
                holds one already (see :func:`merge_shards`).

        Returns:
            dict: :func:`merge_shards`' counts.
        """
        return merge_shards(list_shard_dirs(out_dir), out_dir, card=card)
