"""Writing a demo world to disk (see :mod:`.layout` for the folder layout).

Every file is written atomically with :mod:`mmdatasetdm.fileio` (a temporary
file in the same folder, then ``os.replace``), so an interrupted run never
leaves a truncated file behind, and the output is byte-identical across runs
with the same arguments: PNGs are encoded by PIL without timestamps and JSON is
written with a fixed key order.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from mmdatasetdm.fileio import (DEFAULT_DEPTH_SCALE, IGNORE_INDEX, atomic_write_bytes,
                                atomic_write_text, dumps_json, encode_depth, encode_png)
from .layout import WorldLayout
from .metainfo import (ARTICULATED_CLASS, CLASS_IDS, FLIP_PAIRS, KEYPOINT_NAMES, KEYPOINT_SIGMAS,
                       SEG_CLASSES, SEG_PALETTE, SKELETON, coco_categories)
from .render import DEFAULT_MAX_DEPTH
from .sample import DEFAULT_MIN_AREA, coco_annotation, coco_image_id, make_sample

# The version of the world's content (images and labels): 2 added background clutter and
# instances >= 12 px, 3 long-tailed labelled splits, 4 balanced test splits and 5000
# train_large images. Recorded in meta.json as `format_version`.
WORLD_VERSION = 4


@dataclass(frozen=True)
class SplitSpec:
    """How one split is generated.

    Args:
        num_images (int): Number of images.
        labelled (bool): Write ground truth (otherwise images + captions only).
        domain (str): Visual domain, ``'default'`` or ``'shifted'``.
        class_frequency (str): How often each class appears, a key of
            :data:`~projects.demo_world.demo_world.scene.CLASS_FREQUENCIES`.
    """
    num_images: int
    labelled: bool = True
    domain: str = 'default'
    class_frequency: str = 'long_tail'


def default_splits(pool: int = 5000, train_100: int = 100, train_large: int = 5000,
                   test: int = 500, test_shifted: int = 500) -> Dict[str, SplitSpec]:
    """The standard splits of the demo world.

    Args:
        pool (int): Unlabelled images (captions only) for training the generator.
        train_100 (int): Labelled images for the P-Decoder / few-label baseline.
        train_large (int): Labelled images for the fully supervised reference.
        test (int): Labelled test images, same domain.
        test_shifted (int): Labelled test images from the shifted domain.

    The unlabelled pool covers every class evenly, as the web images a
    text-to-image model learns from do. The labelled training splits share
    one long-tailed class distribution, as an annotated benchmark's images
    do, and the test splits are balanced again, as in the long-tail
    benchmarks (ImageNet-LT, Places-LT): a rare class is scored on as many
    pixels as a common one, so a model that never learned it cannot hide
    behind the classes it did. ``train_large`` is 50 times ``train_100``
    (VOC's train_aug is about 100 times its 100-image subsets).

    Returns:
        dict[str, SplitSpec]: Split name -> spec, in generation order.
    """
    return {
        'pool': SplitSpec(pool, labelled=False, class_frequency='even'),
        'train_100': SplitSpec(train_100),
        'train_large': SplitSpec(train_large),
        'test': SplitSpec(test, class_frequency='even'),
        'test_shifted': SplitSpec(test_shifted, domain='shifted', class_frequency='even'),
    }


def _json_line(obj) -> str:
    return dumps_json(obj) + '\n'


def _write_image(job: Tuple) -> dict:
    """Render one image, write its per-image files and return its records."""
    root, seed, split, index, size, spec, min_area, max_depth, depth_scale = job
    layout = WorldLayout(root)
    sample = make_sample(seed, split, index, size, spec.domain, min_area, max_depth,
                         spec.class_frequency)
    rendered = sample.rendered
    atomic_write_bytes(layout.image(split, index), encode_png(rendered.image))
    image_id = coco_image_id(index)
    record = dict(caption=dict(image_id=image_id, file_name=layout.rel_image(split, index),
                               caption=sample.caption, alt_captions=sample.partial_captions))
    if spec.labelled:
        atomic_write_bytes(layout.semantic(split, index), encode_png(rendered.semantic))
        atomic_write_bytes(
            layout.depth(split, index),
            encode_png(encode_depth(rendered.depth, depth_scale, layout.depth(split, index))))
        record['image'] = dict(id=image_id, file_name=osp.basename(layout.image(split, index)),
                               height=int(size[0]), width=int(size[1]))
        record['instances'] = [coco_annotation(sample, a, False) for a in sample.annotations]
        record['keypoints'] = [coco_annotation(sample, a, True) for a in sample.annotations
                               if a.category == ARTICULATED_CLASS]
    return record


def _coco_info(seed: int, split: str) -> dict:
    return dict(description=f'mmdatasetdm demo world, split {split}, seed {seed}',
                version=str(WORLD_VERSION), year=2024, contributor='mmdatasetdm',
                date_created='')


def world_meta(seed: int, size: Tuple[int, int], splits: Dict[str, SplitSpec],
               depth_scale: float = DEFAULT_DEPTH_SCALE, max_depth: float = DEFAULT_MAX_DEPTH,
               min_area: int = DEFAULT_MIN_AREA) -> dict:
    """The content of ``meta.json``.

    Args:
        seed (int): World seed.
        size (tuple[int, int]): ``(height, width)``.
        splits (dict[str, SplitSpec]): Generated splits.
        depth_scale (float): Depth PNG value per metre.
        max_depth (float): Ground depth clip in metres.
        min_area (int): Minimum visible area of an annotated instance.

    Returns:
        dict: JSON-serialisable metadata.
    """
    return dict(
        name='mmdatasetdm_demo_world', format_version=WORLD_VERSION, seed=int(seed),
        height=int(size[0]), width=int(size[1]),
        depth_scale=float(depth_scale), depth_unit='metre', depth_png_dtype='uint16',
        depth_invalid_value=0, max_depth=float(max_depth), min_instance_area=int(min_area),
        ignore_index=IGNORE_INDEX, classes=list(SEG_CLASSES),
        palette=[list(c) for c in SEG_PALETTE], class_ids=dict(CLASS_IDS),
        keypoints=dict(category=ARTICULATED_CLASS, names=list(KEYPOINT_NAMES),
                       skeleton=[list(s) for s in SKELETON], sigmas=list(KEYPOINT_SIGMAS),
                       flip_pairs=[list(p) for p in FLIP_PAIRS]),
        splits={name: asdict(spec) for name, spec in splits.items()},
    )


def _merge_meta(path: str, meta: dict) -> dict:
    """Merge the split list with an existing ``meta.json`` of the same world."""
    if not osp.exists(path):
        return meta
    with open(path) as f:
        old = json.load(f)
    for key in ('format_version', 'seed', 'height', 'width', 'depth_scale', 'max_depth',
                'min_instance_area'):
        if old.get(key) != meta[key]:
            raise ValueError(f'{path}: field {key!r} is {old.get(key)!r} but this run uses '
                             f'{meta[key]!r}; write to an empty folder instead')
    merged = dict(meta)
    merged['splits'] = {**old.get('splits', {}), **meta['splits']}
    merged['splits'] = {k: merged['splits'][k] for k in sorted(merged['splits'])}
    return merged


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total)


def write_split(root: str, seed: int, split: str, spec: SplitSpec, size: Tuple[int, int] = (64, 64),
                workers: int = 1, progress: bool = True, min_area: int = DEFAULT_MIN_AREA,
                max_depth: float = DEFAULT_MAX_DEPTH,
                depth_scale: float = DEFAULT_DEPTH_SCALE) -> None:
    """Generate and write one split.

    Args:
        root (str): Output root.
        seed (int): World seed.
        split (str): Split name (also part of every image's seed).
        spec (SplitSpec): Size, labelling and domain of the split.
        size (tuple[int, int]): ``(height, width)``.
        workers (int): Worker processes (the output does not depend on it).
        progress (bool): Show a progress bar.
        min_area (int): Minimum visible area of an annotated instance.
        max_depth (float): Ground depth clip in metres.
        depth_scale (float): Depth PNG value per metre.
    """
    layout = WorldLayout(root)
    jobs = [(root, seed, split, i, tuple(size), spec, min_area, max_depth, depth_scale)
            for i in range(spec.num_images)]
    bar = _progress(len(jobs), progress)
    records: List[dict] = []

    def consume(results: Iterable[dict]):
        for record in results:
            records.append(record)
            if bar is not None:
                bar.update()

    if workers > 1 and len(jobs) > 1:
        with get_context('fork').Pool(workers) as pool:
            consume(pool.imap(_write_image, jobs, chunksize=16))
    else:
        consume(map(_write_image, jobs))
    if bar is not None:
        print(flush=True)

    atomic_write_text(layout.captions(split), ''.join(_json_line(r['caption']) for r in records))
    if not spec.labelled:
        return
    atomic_write_text(layout.split_file(split),
                      ''.join(f'{layout.stem(i)}\n' for i in range(spec.num_images)))
    images = [r['image'] for r in records]
    instances = dict(info=_coco_info(seed, split), images=images,
                     annotations=[a for r in records for a in r['instances']],
                     categories=coco_categories())
    atomic_write_text(layout.instances(split), _json_line(instances))
    keypoints = dict(info=_coco_info(seed, split), images=images,
                     annotations=[a for r in records for a in r['keypoints']],
                     categories=coco_categories(keypoints_only=True))
    atomic_write_text(layout.keypoints(split), _json_line(keypoints))


def generate_world(out_dir: str, seed: int = 0,
                   splits: Optional[Union[Sequence[str], Dict[str, SplitSpec]]] = None,
                   size: Union[int, Tuple[int, int]] = 64, workers: int = 1, progress: bool = True,
                   min_area: int = DEFAULT_MIN_AREA, max_depth: float = DEFAULT_MAX_DEPTH,
                   depth_scale: float = DEFAULT_DEPTH_SCALE, **split_sizes) -> dict:
    """Generate a demo world (or some of its splits) under ``out_dir``.

    Args:
        out_dir (str): Output root (created; an existing world there must have
            the same seed and size).
        seed (int): World seed.
        splits (Sequence[str] | dict[str, SplitSpec] | None): Names of default
            splits to write, or explicit specs; ``None`` writes all default splits.
        size (int | tuple[int, int]): Image side, or ``(height, width)``.
        workers (int): Worker processes (the output does not depend on it).
        progress (bool): Show progress bars.
        min_area (int): Minimum visible area of an annotated instance.
        max_depth (float): Ground depth clip in metres.
        depth_scale (float): Depth PNG value per metre (1000: millimetres).
        **split_sizes: Image counts passed to :func:`default_splits`
            (``pool=5000, train_100=100, train_large=5000, test=500, test_shifted=500``).

    Returns:
        dict: The written ``meta.json`` content.
    """
    size = (size, size) if isinstance(size, int) else tuple(size)
    if isinstance(splits, dict):
        specs = dict(splits)
    else:
        defaults = default_splits(**split_sizes)
        names = list(defaults) if splits is None else list(splits)
        unknown = [n for n in names if n not in defaults]
        if unknown:
            raise ValueError(f'unknown demo-world splits {unknown}; known: {list(defaults)}')
        specs = {n: defaults[n] for n in names}
    layout = WorldLayout(out_dir)
    meta = world_meta(seed, size, specs, depth_scale, max_depth, min_area)
    meta = _merge_meta(layout.meta, meta)  # fail early on a mismatching world
    for name, spec in specs.items():
        if progress:
            print(
                f'demo world: split {name!r} ({spec.num_images} images, '
                f'{"labelled" if spec.labelled else "unlabelled"}, domain {spec.domain})',
                flush=True)
        write_split(out_dir, seed, name, spec, size, workers, progress, min_area, max_depth,
                    depth_scale)
    atomic_write_text(layout.meta, json.dumps(meta, indent=2) + '\n')
    return meta
