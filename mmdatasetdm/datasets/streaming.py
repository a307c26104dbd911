"""Training on samples generated while the model trains (online generation).

:class:`StreamingSyntheticDataset` reads a stream folder
(:mod:`mmdatasetdm.generation.stream`) written by ``tools/generate.py
--stream``: index ``k`` is the ``k``-th accepted sample of the run, and
``__getitem__`` waits until it is written. :class:`StreamSampler` yields the
stream's indices in increasing blocks, shuffled within a block and mixed with
the real part of a ``ConcatDataset``, as a pure function of (seed, position),
so that a resumed run starts where it stopped without drawing the skipped
batches. :class:`~mmdatasetdm.engine.OnlineGenerationHook` starts the generator
and writes the consumer's position.
"""
import bisect
import copy
import os.path as osp
import time
from typing import List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset, ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmdatasetdm.fileio import SHARD_META, read_json
from mmdatasetdm.generation.stream import DEFAULT_WINDOW, GENERATOR_STATE, StreamIndex, read_state
from mmdatasetdm.registry import DATA_SAMPLERS, DATASETS
from .synthetic import SampleLoadError, class_id_map

# the metainfo items mmpose's BaseCocoStyleDataset.get_data_info copies into every sample
POSE_METAINFO_KEYS = ('dataset_name', 'upper_body_ids', 'lower_body_ids', 'flip_pairs',
                      'dataset_keypoint_weights', 'flip_indices', 'skeleton_links')


@DATASETS.register_module()
class StreamingSyntheticDataset(BaseDataset):
    """The samples of a running generator, in the order it accepts them.

    Wraps a synthetic dataset type for its metainfo (the real dataset's, so
    it mixes in ``ConcatDataset``), its pipeline and its reading of a sample;
    the wrapped type is built without loading anything (``lazy_init``).

    Index ``k`` is the ``k``-th accepted sample of the generation run (index
    order), the same sample in every run of one generation config; the
    dataset's length is the run's nominal length ``num_samples``. Reading
    index ``k`` waits (polling the part files) until the sample's manifest
    line is written; a sample that does not arrive within ``timeout`` seconds,
    or a generator that failed, is an error naming the folder and the index.

    Args:
        stream_dir (str): the stream folder (``tools/generate.py --stream --out``).
        num_samples (int): the run's nominal length (accepted samples the
            training run reads; the generator is told to stop there).
        dataset (dict): the wrapped synthetic dataset config, e.g.
            ``dict(type='mmdatasetdm.SyntheticSegDataset', pipeline=...,
            metainfo_from=...)`` (its ``data_root`` is the stream folder).
            Supported: ``SyntheticSegDataset``, ``SyntheticDepthDataset``,
            ``SyntheticInstanceDataset`` and ``SyntheticPoseDataset``. A pose
            stream position is one generated image: in mmpose's ``bottomup``
            mode the image with all its persons, in ``topdown`` mode its most
            confident person (highest ``score``; the others are not read:
            a position cannot become several samples).
        window (int): accepted samples the generator may run ahead of the
            training job (passed to the generator; :class:`StreamSampler`
            shuffles within half of it).
        timeout (float): seconds to wait for a sample.
        poll_interval (float): seconds between looks at the stream folder.
    """

    def __init__(self, stream_dir: str, num_samples: int, dataset: dict,
                 window: int = DEFAULT_WINDOW, timeout: float = 600.0,
                 poll_interval: float = 0.2):
        if num_samples <= 0:
            raise ValueError(f'num_samples must be positive, got {num_samples}')
        if window <= 0:
            raise ValueError(f'window must be positive, got {window}')
        self.stream_dir = str(stream_dir)
        self.num_samples = int(num_samples)
        self.window = int(window)
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.inner = DATASETS.build(dict(dataset, data_root=self.stream_dir, lazy_init=True))
        readers = dict(SyntheticSegDataset=self._seg_info, SyntheticDepthDataset=self._depth_info,
                       SyntheticInstanceDataset=self._instance_info,
                       SyntheticPoseDataset=self._pose_info)
        kinds = [cls.__name__ for cls in type(self.inner).__mro__ if cls.__name__ in readers]
        if not kinds:
            raise NotImplementedError(
                f'StreamingSyntheticDataset reads {sorted(readers)} streams, not '
                f'{type(self.inner).__name__}')
        self._reader = readers[kinds[0]]
        self._cat2label = None
        self._depth_scale = None
        self._pose_layout = None
        self._metainfo = self.inner.metainfo
        self.pipeline = self.inner.pipeline
        self.data_root = self.stream_dir
        self.test_mode = False
        self.index = StreamIndex(self.stream_dir)
        self._label_map = None
        self._fully_initialized = True

    # BaseDataset's loading does not apply: nothing is read until a sample is asked for
    def full_init(self):
        self._fully_initialized = True

    def __len__(self) -> int:
        return self.num_samples

    def _shard_classes(self, folder: str) -> list:
        meta = read_json(osp.join(folder, SHARD_META))
        classes = meta.get('classes')
        if not classes:
            raise ValueError(f'{osp.join(folder, SHARD_META)} names no classes')
        return classes

    def resolve(self, position: int) -> Tuple[int, str, dict]:
        """Wait for stream position ``position``; returns (sample index, shard folder, part)."""
        deadline = time.time() + self.timeout
        while self.index.refresh(max_position=position) <= position:
            state = read_state(self.stream_dir, GENERATOR_STATE) or {}
            if state.get('state') == 'failed':
                raise RuntimeError(f'the generator of stream {self.stream_dir} failed (sample '
                                   f'{position} never arrives): {state.get("error")}')
            if state.get('state') in ('finished', 'stopped') and \
                    self.index.refresh(max_position=position) <= position:
                raise RuntimeError(
                    f'the generator of stream {self.stream_dir} {state["state"]} with '
                    f'{len(self.index)} accepted samples; sample {position} was asked for (the '
                    f'dataset has num_samples={self.num_samples}); restart it (tools/generate.py '
                    'GEN_CONFIG --stream) or lower num_samples')
            if time.time() > deadline:
                raise TimeoutError(
                    f'stream {self.stream_dir}: sample {position} (the {position}-th accepted '
                    f'sample) did not arrive within {self.timeout:.0f} s; {len(self.index)} '
                    f'accepted samples so far, generator state {state or "(none)"}; is the '
                    'generator running (mmdatasetdm.OnlineGenerationHook with start=True in '
                    'custom_hooks, or tools/generate.py GEN_CONFIG --stream --out '
                    f'{self.stream_dir}) and is the hook writing the consumer position?')
            time.sleep(self.poll_interval)
        return self.index.samples[position]

    def get_data_info(self, idx: int) -> dict:
        """The data info of stream position ``idx`` (waits for it)."""
        if not 0 <= idx < self.num_samples:
            raise IndexError(f'index {idx} out of range [0, {self.num_samples}) of stream '
                             f'{self.stream_dir}')
        sample_index, folder, part = self.resolve(idx)
        line = part['manifest']
        missing = [rel for rel in line['files'].values() if not osp.isfile(osp.join(folder, rel))]
        if missing:
            raise FileNotFoundError(
                f'stream {self.stream_dir}: the files of sample {idx} (index {sample_index}: '
                f'{missing}) were deleted: the training job passed it by more than the window; '
                'a run that needs it again (an older checkpoint, a new run on this folder) '
                'needs a new stream folder')
        return self._reader(idx, sample_index, folder, part)

    def _seg_info(self, idx: int, sample_index: int, folder: str, part: dict) -> dict:
        inner, line = self.inner, part['manifest']
        if self._label_map is None:
            generator_classes = self._shard_classes(folder)
            mapping = class_id_map(generator_classes, inner.metainfo['classes'], inner.class_map,
                                   inner.drop_classes, source=self.stream_dir)
            self._generator_classes = generator_classes
            self._label_map = (False if all(k == v for k, v in mapping.items()) else mapping)
        files = line['files']
        if 'semantic' not in files:
            raise ValueError(f'sample {sample_index} of {self.stream_dir} has no semantic mask: '
                             'the stream was not generated by a semantic decoder')
        seg_map_path = osp.join(folder, files['semantic'])
        recorded = (line.get('scores') or {}).get('class_fractions')
        if recorded is not None:
            inner._check_ids((int(k) for k in recorded), self._generator_classes, seg_map_path,
                             'its manifest line records')
        return dict(img_path=osp.join(folder, files['image']), seg_map_path=seg_map_path,
                    label_map=self._label_map or None, reduce_zero_label=False, seg_fields=[],
                    prompt=line['prompt'], sample_idx=idx, stream_index=sample_index,
                    **inner.confidence_info(dict(line, index=sample_index), folder))

    def _depth_info(self, idx: int, sample_index: int, folder: str, part: dict) -> dict:
        """What ``SyntheticDepthDataset`` reads for one sample."""
        inner, line = self.inner, part['manifest']
        if self._depth_scale is None:
            scale = float(read_json(osp.join(folder, SHARD_META))['depth_scale'])
            inner._check_rescale_factor(scale)
            self._depth_scale = scale
        files = line['files']
        if 'depth' not in files:
            raise ValueError(f'sample {sample_index} of {self.stream_dir} has no depth map: the '
                             'stream was not generated by a depth decoder')
        scale = float(line.get('depth_scale', self._depth_scale))
        if scale != self._depth_scale:
            raise ValueError(f'sample {sample_index} of {self.stream_dir} has depth_scale '
                             f'{scale:g}, its shard {self._depth_scale:g}')
        classes = list(inner.metainfo.get('classes', ()))
        category_id = next((classes.index(c) for c in line.get('classes', []) if c in classes), -1)
        return dict(img_path=osp.join(folder, files['image']),
                    depth_map_path=osp.join(folder, files['depth']), seg_fields=[],
                    category_id=category_id, prompt=line['prompt'], depth_scale=scale,
                    sample_idx=idx, stream_index=sample_index)

    def _instance_info(self, idx: int, sample_index: int, folder: str, part: dict) -> dict:
        """What ``SyntheticInstanceDataset`` reads for one sample: mmdet's data info of the
        part file's COCO image and annotations (the merged COCO file does not exist yet)."""
        inner, line = self.inner, part['manifest']
        if self._cat2label is None:
            meta_path = osp.join(folder, SHARD_META)
            inner.set_categories(read_json(meta_path).get('categories') or [], meta_path)
            self._cat2label = inner.cat2label
        img_info = dict(part['image'], img_id=part['image']['id'])
        anns = [copy.deepcopy(a) for a in part.get('instances') or []
                if a['category_id'] in self._cat2label
                and (inner.min_score is None or a.get('score', -1.0) >= inner.min_score)]
        info = inner.parse_data_info(dict(raw_ann_info=anns, raw_img_info=img_info))
        info.update(img_path=osp.join(folder, line['files']['image']), prompt=line['prompt'],
                    sample_idx=idx, stream_index=sample_index)
        return info

    def _pose_info(self, idx: int, sample_index: int, folder: str, part: dict) -> dict:
        """What ``SyntheticPoseDataset`` reads for one sample (mmpose's data info of the part
        file's COCO image and keypoints, matched by name to the dataset's keypoint order):
        the image with all its persons (``bottomup``) or its most confident one
        (``topdown``)."""
        from mmdatasetdm.generation.writers import KeypointMeta
        inner, line = self.inner, part['manifest']
        if self._pose_layout is None:
            meta_path = osp.join(folder, SHARD_META)
            keypoint_meta = read_json(meta_path).get('keypoint_meta')
            if not keypoint_meta:
                raise ValueError(f'{meta_path} has no keypoint_meta: the stream '
                                 f'{self.stream_dir} was not generated by a pose decoder')
            category = KeypointMeta(**keypoint_meta).coco_category()
            inner.ann_file = meta_path  # the layout check names the file it read
            self._pose_layout = (category['id'], inner._check_layout(category))
        category_id, order = self._pose_layout
        img = dict(part['image'], img_id=part['image']['id'],
                   img_path=osp.join(folder, line['files']['image']))
        infos = []
        for ann in part.get('keypoints') or []:
            if ann['category_id'] != category_id or (
                    inner.min_score is not None and ann.get('score', -1.0) < inner.min_score):
                continue
            ann = copy.deepcopy(ann)
            if order is not None:
                ann['keypoints'] = np.reshape(ann['keypoints'], (-1, 3))[order].reshape(-1).tolist()
            info = inner.parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))
            if info and inner._is_valid_instance(info):
                infos.append(info)
        if not infos:
            raise SampleLoadError(
                f'sample {idx} of stream {self.stream_dir} (index {sample_index}) has no pose '
                'with a labelled keypoint' + (f' and score >= {inner.min_score}'
                                              if inner.min_score is not None else '')
                + '; a stream cannot skip samples: generate with filters that reject such '
                'samples (filters.min_keypoint_score), or lower min_score')
        if inner.data_mode == 'topdown':
            info = max(infos, key=lambda i: i['raw_ann_info'].get('score', 0.0))
        else:
            info = inner._get_bottomup_data_infos(infos, [img])[0]
        for key in POSE_METAINFO_KEYS:  # what mmpose's get_data_info adds for the pipeline
            info[key] = copy.deepcopy(inner.metainfo[key])
        info.update(prompt=line['prompt'], sample_idx=idx, stream_index=sample_index)
        return info

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        try:
            return self.pipeline(info)
        except Exception as err:
            files = [str(info[k]) for k in ('img_path', 'seg_map_path', 'depth_map_path')
                     if info.get(k)]
            raise SampleLoadError(f'sample {idx} of stream {self.stream_dir} cannot be loaded '
                                  f'({", ".join(files)}): {type(err).__name__}: {err}') from err

    def __getitem__(self, idx: int) -> dict:
        # no re-draw of another index on failure (BaseDataset's): a stream sample is unique
        data = self.prepare_data(idx)
        if data is None:
            raise SampleLoadError(f'sample {idx} of stream {self.stream_dir}: the pipeline '
                                  'dropped it; a stream dataset cannot skip samples')
        return data


def split_stream(dataset) -> Tuple[StreamingSyntheticDataset, int, List[int]]:
    """The stream of a dataset, its offset, and the indices of the other (real) samples.

    Args:
        dataset: a :class:`StreamingSyntheticDataset`, or a ``ConcatDataset``
            (mmengine) or ``CombinedDataset`` (mmpose, without
            ``sample_ratio_factor``) holding exactly one (the others are the
            real part).

    Returns:
        tuple: the stream dataset, the global index of its position 0, and
        the global indices of the real samples.
    """
    if isinstance(dataset, StreamingSyntheticDataset):
        return dataset, 0, []
    sizes = None
    if isinstance(dataset, ConcatDataset):
        sizes = list(dataset.cumulative_sizes)
    elif type(dataset).__name__ == 'CombinedDataset' and hasattr(dataset, 'lens'):
        if getattr(dataset, 'resample', False):
            raise TypeError('StreamSampler cannot read a CombinedDataset with '
                            'sample_ratio_factor (it maps indices at random); mix with the '
                            "sampler's real_ratio instead")
        sizes = np.cumsum(dataset.lens).tolist()
    if sizes is not None:
        found = [i for i, d in enumerate(dataset.datasets)
                 if isinstance(d, StreamingSyntheticDataset)]
        if len(found) == 1:
            i = found[0]
            start = sizes[i - 1] if i else 0
            stop = sizes[i]
            real = [k for k in range(len(dataset)) if not start <= k < stop]
            return dataset.datasets[i], start, real
    raise TypeError(f'StreamSampler needs a StreamingSyntheticDataset, or a ConcatDataset or '
                    f'CombinedDataset with exactly one, got {type(dataset).__name__}')


@DATA_SAMPLERS.register_module()
class StreamSampler(Sampler):
    """Stream indices in increasing blocks, shuffled within a block and mixed with real ones.

    The stream's positions are cut into blocks of ``block`` consecutive
    positions; block ``j`` is yielded together with its share of real draws
    (``real_ratio`` real samples per stream sample), in an order shuffled by
    (seed, j). Real draws run through successive permutations of the real
    indices (seeded by (seed, pass)), so the real part repeats as often as
    needed while each stream sample is read once. Item ``p`` of the sequence
    is a pure function of (seed, p): a resumed run starts at its position
    (:meth:`set_start`) and sees exactly the samples of an uninterrupted run.

    Since the generator stays within ``window`` accepted samples of the
    position the hook writes when a block starts, ``block`` is at most half
    the dataset's ``window``. The sequence has one pass (``len``): a second
    one would need samples whose files were deleted, and raises. With several
    ranks, rank ``r`` takes items ``r, r + world_size, ...``.

    Args:
        dataset: a :class:`StreamingSyntheticDataset` or a ``ConcatDataset``
            with one (real + stream).
        block (int, optional): stream positions shuffled together (default
            half the stream's window).
        real_ratio (float, optional): real samples per stream sample (default:
            the real part's length over the stream's, what shuffling the
            ``ConcatDataset`` would give).
        shuffle (bool): shuffle within blocks and real passes.
        seed (int, optional): the random seed (the runner passes its seed).
    """

    def __init__(self, dataset, block: Optional[int] = None, real_ratio: Optional[float] = None,
                 shuffle: bool = True, seed: Optional[int] = None):
        self.dataset = dataset
        self.stream, self.offset, self.real = split_stream(dataset)
        n = len(self.stream)
        limit = max(self.stream.window // 2, 1)
        self.block = limit if block is None else int(block)
        if not 0 < self.block <= limit:
            raise ValueError(f'block ({self.block}) must be positive and at most half the '
                             f'stream\'s window ({self.stream.window})')
        if real_ratio is not None and real_ratio < 0:
            raise ValueError(f'real_ratio must be >= 0, got {real_ratio}')
        if real_ratio and not self.real:
            raise ValueError('real_ratio is set but the dataset has no real part')
        self.real_ratio = real_ratio
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        starts = [min(j * self.block, n) for j in range(-(-n // self.block) + 1)]
        self._stream_starts = starts
        self._real_starts = [self._real_before(s) for s in starts]
        self._item_starts = [s + r for s, r in zip(starts, self._real_starts)]
        self.total = self._item_starts[-1]
        self.start = 0
        self.requested = 0
        self.epoch = 0
        self.listener = None  # called with the item count when a block starts (see the hook)
        self._cache = {}

    def _real_before(self, position: int) -> int:
        """Real draws that come with the stream positions below ``position``."""
        if self.real_ratio is None:
            return position * len(self.real) // len(self.stream)
        return int(position * self.real_ratio)

    def __len__(self) -> int:
        remaining = max(self.total - self.start - self.rank, 0)
        return -(-remaining // self.world_size)

    def set_epoch(self, epoch: int) -> None:
        """Set the pass (only the first exists)."""
        self.epoch = epoch

    def set_start(self, items: int) -> None:
        """Start the next iteration at item ``items`` of the (global) sequence."""
        if not 0 <= items <= self.total:
            raise ValueError(f'start {items} is outside the sequence [0, {self.total}]')
        self.start = self.requested = int(items)

    def _rng(self, *key) -> np.random.Generator:
        return np.random.default_rng([self.seed % 2**32, *key])

    def _block_codes(self, j: int) -> np.ndarray:
        """Block ``j``'s items: stream position k as k, real draw q as -(q + 1)."""
        key = ('block', j)
        if key not in self._cache:
            codes = np.concatenate([
                np.arange(self._stream_starts[j], self._stream_starts[j + 1]),
                -1 - np.arange(self._real_starts[j], self._real_starts[j + 1])])
            if self.shuffle:
                codes = codes[self._rng(0, j).permutation(len(codes))]
            self._cache = {k: v for k, v in self._cache.items() if k[0] != 'block'}
            self._cache[key] = codes
        return self._cache[key]

    def _real_index(self, draw: int) -> int:
        rounds, rest = divmod(draw, len(self.real))
        key = ('real', rounds)
        if key not in self._cache:
            order = np.arange(len(self.real))
            if self.shuffle:
                order = self._rng(1, rounds).permutation(len(self.real))
            self._cache = {k: v for k, v in self._cache.items() if k[0] != 'real'}
            self._cache[key] = order
        return self.real[int(self._cache[key][rest])]

    def _locate(self, item: int) -> Tuple[int, int]:
        j = bisect.bisect_right(self._item_starts, item) - 1
        return j, item - self._item_starts[j]

    def item(self, item: int) -> Tuple[str, int]:
        """Item ``item`` of the sequence: ``('stream', position)`` or ``('real', index)``."""
        if not 0 <= item < self.total:
            raise IndexError(f'item {item} outside the sequence [0, {self.total})')
        j, offset = self._locate(item)
        code = int(self._block_codes(j)[offset])
        return ('stream', code) if code >= 0 else ('real', self._real_index(-1 - code))

    def index_of(self, item: int) -> int:
        """The dataset index of item ``item`` of the sequence."""
        kind, value = self.item(item)
        return self.offset + value if kind == 'stream' else value

    def stream_frontier(self, items: int) -> int:
        """The lowest stream position not among the first ``items`` items."""
        if items >= self.total:
            return len(self.stream)
        j, offset = self._locate(items)
        codes = self._block_codes(j)[:offset]
        taken = set(codes[codes >= 0].tolist())
        position = self._stream_starts[j]
        while position in taken:
            position += 1
        return position

    def __iter__(self):
        if self.epoch > 0:
            raise RuntimeError(
                f'the stream {self.stream.stream_dir} is read once ({len(self.stream)} samples '
                f'with the real ones: {self.total} items) and the run asks for more: raise the '
                'StreamingSyntheticDataset\'s num_samples (or lower max_iters)')
        item = self.start + self.rank
        self.requested = self.start
        block = None
        while item < self.total:
            j = bisect.bisect_right(self._item_starts, item) - 1
            if j != block:
                block = j
                # the consumer position moves before a sample of the new block is asked for
                if self.listener is not None:
                    self.listener(item - self.rank)
            self.requested = item - self.rank + self.world_size
            yield self.index_of(item)
            item += self.world_size
