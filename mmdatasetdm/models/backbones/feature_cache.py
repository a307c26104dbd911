"""An on-disk cache of the frozen diffusion backbone's output.

The backbone of a P-Decoder never trains, so the feature pyramid of one view
of one image (its exact input pixels after the data pipeline and the data
preprocessor) under one prompt is a fixed function of that input and the
backbone's configuration. :class:`FeatureCache` stores it once and reads it
back in every later epoch.

**Use.** Off by default. In a config,
``model.backbone.feature_cache = dict(dir='work_dirs/feature_cache')``; on the
command line, ``tools/train.py CONFIG --cfg-options
model.backbone.feature_cache.dir=work_dirs/feature_cache``. It pays off when
views repeat across epochs (no random augmentation, or a small fixed set of
views); with random crops/jitter nearly every view is new, and the cache only
grows. The counters are on the backbone (``backbone.cache_stats``).

**Keys.** One entry per image view, named by the SHA-256 of

* the exact input tensor of that view (dtype, shape and raw bytes, padding
  included), so any augmentation (flip, crop, colour jitter, ...) gives a new
  key;
* the prompt and the words whose token positions are recorded;
* a hash of the backbone configuration (:func:`~mmdatasetdm.fileio.json_sha256` of what the
  backbone passes: model identity, dtype, timestep, capture config, noise
  seed, library versions).

The model identity is :func:`model_fingerprint` of the diffusers folder: the
relative path, size and modification time of every file (``'stat'``, the
default; cheap) or the SHA-256 of every file's content (``'content'``;
survives copies, reads every weight once). Any change of the key's inputs
gives a different file, i.e. invalidates the old entry (stale entries are
simply never read; delete the folder to reclaim the space).

**Storage.** ``<dir>/<key[:2]>/<key>.safetensors``: the tensors of one image
(``levels.<i>`` of shape (C_i, h_i, w_i), ``attention.<stride>`` of shape
(T, h, w)) and, in the safetensors header's string metadata, a JSON
description (level names and strides, token positions, prompt, timestep) plus
the SHA-256 of the tensor bytes. Nothing is unpickled. Files are written to a
temporary file in the same folder and moved into place (:func:`~mmdatasetdm.fileio.atomic_path`), so
readers (other ranks, a crashed run) never see a partial entry.

**Precision.** Tensors are stored as IEEE fp16 (``dtype='fp16'``, the
default) and returned as float32. Round-to-nearest fp16 keeps 11 significant
bits: relative error <= 2**-11 (about 4.9e-4) for |x| >= 6.1e-5, absolute
error <= 2**-25 (about 3e-8) below that (subnormals). Attention probabilities
(in [0, 1]) are within 2.4e-4 of the computed value. A tensor with finite
values beyond the fp16 range (|x| > 65504) is stored in float32 instead,
never as inf. The fp16 -> float32 conversion is exact, so a hit returns
exactly the stored values; a miss returns the *same rounded* values it
stores, so the backbone's output with the cache on does not depend on whether
an entry was already there. ``dtype='fp32'`` stores features bit-exactly.

**Corruption.** An entry that cannot be parsed, lacks a field, has the wrong
key, or whose tensor bytes do not match the stored checksum is reported (a
warning naming the file), counted in :attr:`FeatureCache.corrupt`, and
recomputed; the fresh entry replaces it.
"""
import hashlib
import json
import logging
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor

from mmdatasetdm.diffusion import FeatureLevel, FeaturePyramid, tensors_sha256
from mmdatasetdm.fileio import atomic_path, file_sha256

CACHE_FORMAT = 'mmdatasetdm.feature_cache/1'
STORAGE_DTYPES = {'fp16': torch.float16, 'fp32': torch.float32}
FINGERPRINT_MODES = ('stat', 'content')

ComputeFn = Callable[[Tensor, List[str], List[List[str]]], FeaturePyramid]


class CorruptEntryError(ValueError):
    """A cache file exists but cannot be trusted."""


def model_fingerprint(folder: str, mode: str = 'stat') -> str:
    """A hash identifying the files of a model folder.

    Args:
        folder (str): a diffusers folder (``model_index.json``, ``unet/``, ...).
        mode (str): ``'stat'``: relative path, size and ``st_mtime_ns`` of
            every file (fast; copying or touching a file changes it);
            ``'content'``: relative path and SHA-256 of every file's bytes
            (reads the whole folder; independent of where it lives).

    Returns:
        str: hex SHA-256 over the sorted file list.

    Raises:
        FileNotFoundError: if ``folder`` is not a directory.
        ValueError: for an unknown ``mode``.
    """
    if mode not in FINGERPRINT_MODES:
        raise ValueError(f'model fingerprint mode must be one of {FINGERPRINT_MODES}, got {mode!r}')
    if not osp.isdir(folder):
        raise FileNotFoundError(f'cannot fingerprint model folder {folder}: not a directory')
    digest = hashlib.sha256(f'{mode}\n'.encode())
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(root, name)
            rel = osp.relpath(path, folder).replace(os.sep, '/')
            if mode == 'stat':
                st = os.stat(path)
                digest.update(f'{rel}\t{st.st_size}\t{st.st_mtime_ns}\n'.encode())
            else:
                digest.update(f'{rel}\t{file_sha256(path)}\n'.encode())
    return digest.hexdigest()


def entry_key(image: Tensor, prompt: str, words: Sequence[str], config_hash: str) -> str:
    """The cache key of one image view.

    Args:
        image (Tensor): shape (3, H, W), the exact backbone input of the view.
        prompt (str): its prompt.
        words (Sequence[str]): the words whose token positions are recorded.
        config_hash (str): :func:`~mmdatasetdm.fileio.json_sha256` of the backbone
            configuration.

    Returns:
        str: 64 hex digits.
    """
    pixels = image.detach().to('cpu').contiguous()
    digest = hashlib.sha256()
    header = dict(format=CACHE_FORMAT, config=config_hash, prompt=prompt, words=list(words),
                  dtype=str(pixels.dtype), shape=list(pixels.shape))
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(b'\0')
    digest.update(pixels.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Per-image-view feature pyramids on disk (see the module docstring).

    Args:
        dir (str): the cache folder (created on first write).
        dtype (str): storage dtype, ``'fp16'`` (default) or ``'fp32'``.
        verify (bool): check every entry's tensor checksum on read (cheap
            next to a UNet pass; turn off only for very large features).

    Attributes:
        hits (int): entries read back.
        misses (int): image views that had to be computed (corrupt ones included).
        corrupt (int): entries found unreadable and recomputed.
        writes (int): entries written.
    """

    def __init__(self, dir: str, dtype: str = 'fp16', verify: bool = True):
        if not dir:
            raise ValueError('feature_cache needs a folder: feature_cache=dict(dir=...)')
        if dtype not in STORAGE_DTYPES:
            raise ValueError(f'feature cache dtype must be one of {sorted(STORAGE_DTYPES)}, '
                             f'got {dtype!r}')
        self.dir = str(dir)
        self.dtype = dtype
        self.verify = verify
        self.hits = self.misses = self.corrupt = self.writes = 0

    def stats(self) -> dict:
        return dict(hits=self.hits, misses=self.misses, corrupt=self.corrupt, writes=self.writes)

    def path(self, key: str) -> str:
        """The file of the entry ``key``."""
        return osp.join(self.dir, key[:2], f'{key}.safetensors')

    # ------------------------------------------------------------- lookups
    def fetch(self, inputs: Tensor, prompts: Sequence[str], words: Sequence[Sequence[str]],
              config_hash: str, compute: ComputeFn) -> FeaturePyramid:
        """The pyramid of a batch: stored entries where present, ``compute``
        (called once, on the missing images only) for the rest.

        Args:
            inputs (Tensor): shape (B, 3, H, W), the backbone input.
            prompts (Sequence[str]): one prompt per image.
            words (Sequence[Sequence[str]]): per image, the recorded words.
            config_hash (str): :func:`~mmdatasetdm.fileio.json_sha256` of the backbone
                config.
            compute: ``compute(inputs[missing], prompts, words)`` -> pyramid.

        Returns:
            FeaturePyramid: float32, on the CPU, in batch order.
        """
        batch = inputs.shape[0]
        if len(prompts) != batch or len(words) != batch:
            raise ValueError(f'{len(prompts)} prompts and {len(words)} word lists for a batch of '
                             f'{batch} images')
        keys = [entry_key(inputs[i], prompts[i], words[i], config_hash) for i in range(batch)]
        pyramids: List[Optional[FeaturePyramid]] = [self.load(key) for key in keys]
        missing = [i for i, p in enumerate(pyramids) if p is None]
        self.hits += batch - len(missing)
        if missing:
            self.misses += len(missing)
            index = torch.as_tensor(missing, dtype=torch.long, device=inputs.device)
            computed = compute(inputs.index_select(0, index), [prompts[i] for i in missing],
                               [list(words[i]) for i in missing])
            for j, i in enumerate(missing):
                pyramids[i] = self.store(keys[i], computed.select([j]))
        return FeaturePyramid.cat(pyramids)

    def load(self, key: str) -> Optional[FeaturePyramid]:
        """The stored pyramid (batch of one, float32, CPU), or None when the
        entry is absent or corrupt (corrupt: warned and counted)."""
        path = self.path(key)
        if not osp.isfile(path):
            return None
        try:
            return self._read(path, key)
        except CorruptEntryError as err:
            self.corrupt += 1
            print_log(f'feature cache: {err}; recomputing it', logger='current',
                      level=logging.WARNING)
            return None

    def _read(self, path: str, key: str) -> FeaturePyramid:
        from safetensors import safe_open
        try:
            with safe_open(path, framework='pt', device='cpu') as f:
                header = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in f.keys()}
        except Exception as err:  # safetensors raises its own error types
            raise CorruptEntryError(f'cannot read cache file {path} ({type(err).__name__}: '
                                    f'{err})') from err
        if header.get('format') != CACHE_FORMAT:
            raise CorruptEntryError(f'cache file {path} has format {header.get("format")!r}, '
                                    f'expected {CACHE_FORMAT!r}')
        if header.get('key') != key:
            raise CorruptEntryError(f'cache file {path} holds key {header.get("key")!r}')
        if self.verify and header.get('sha256') != tensors_sha256(tensors):
            raise CorruptEntryError(f'cache file {path} fails its checksum')
        try:
            meta = json.loads(header['meta'])
            levels = [FeatureLevel(name, int(stride), tensors[f'levels.{i}'].float()[None])
                      for i, (name, stride) in enumerate(zip(meta['level_names'],
                                                             meta['level_strides']))]
            attention = {int(s): tensors[f'attention.{int(s)}'].float()[None]
                         for s in meta['attention_strides']}
            return FeaturePyramid(levels=levels, attention=attention,
                                  token_indices=[meta['token_indices']],
                                  prompts=[meta['prompt']], timestep=meta['timestep'])
        except (KeyError, TypeError, ValueError) as err:
            raise CorruptEntryError(f'cache file {path} has malformed metadata '
                                    f'({type(err).__name__}: {err})') from err

    # --------------------------------------------------------------- writes
    def _storable(self, t: Tensor) -> Tensor:
        t = t.detach().to('cpu', torch.float32).contiguous()
        target = STORAGE_DTYPES[self.dtype]
        if target == torch.float32:
            return t
        low = t.to(target)
        if not torch.equal(torch.isfinite(low), torch.isfinite(t)):
            return t  # beyond the fp16 range: keep float32 rather than store inf
        return low

    def store(self, key: str, pyramid: FeaturePyramid) -> FeaturePyramid:
        """Write one image's pyramid (batch of one) atomically.

        Returns:
            FeaturePyramid: float32, CPU: exactly what a later :meth:`load`
            of ``key`` returns (the stored, possibly fp16-rounded, values).
        """
        if pyramid.batch_size != 1:
            raise ValueError(f'store() takes one image, got a batch of {pyramid.batch_size}')
        tensors = {f'levels.{i}': self._storable(lv.features[0])
                   for i, lv in enumerate(pyramid.levels)}
        strides = sorted(int(s) for s in pyramid.attention)
        tensors.update({f'attention.{s}': self._storable(pyramid.attention[s][0])
                        for s in strides})
        meta = dict(level_names=[lv.name for lv in pyramid.levels],
                    level_strides=[int(lv.stride) for lv in pyramid.levels],
                    attention_strides=strides,
                    token_indices=pyramid.token_indices[0] if pyramid.token_indices else {},
                    prompt=pyramid.prompts[0] if pyramid.prompts else '',
                    timestep=pyramid.timestep)
        header = dict(format=CACHE_FORMAT, key=key, meta=json.dumps(meta),
                      sha256=tensors_sha256(tensors))
        self._write_atomic(self.path(key), tensors, header)
        self.writes += 1
        return FeaturePyramid(
            levels=[FeatureLevel(lv.name, lv.stride, tensors[f'levels.{i}'].float()[None])
                    for i, lv in enumerate(pyramid.levels)],
            attention={s: tensors[f'attention.{s}'].float()[None] for s in strides},
            token_indices=[meta['token_indices']], prompts=[meta['prompt']],
            timestep=meta['timestep'])

    @staticmethod
    def _write_atomic(path: str, tensors: Dict[str, Tensor], header: Dict[str, str]):
        from safetensors.torch import save_file
        with atomic_path(path) as temp:
            save_file(tensors, temp, metadata=header)
