"""Mosaics of synthetic tiles: the *_synth_mosaic_* configs (mmseg's RandomMosaic, our
InstanceMosaic, each inside the toolbox's MultiImageMixDataset).

The geometry tests draw the three extra tiles at fixed indices and read the mosaic centre the
transform drew, then rebuild the expected mosaic from the demo world's own label files (not
through the datasets): each tile resized (nearest; 64 -> 32 px is every second pixel) and
pasted with its corner at the centre, cut at the canvas border.
"""
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image
from pycocotools.coco import COCO

import projects.demo_world.demo_world  # noqa: F401  (registers the demo dataset types)
from mmdatasetdm.generation import ShardWriter, merge_shards
from projects.demo_world.demo_world import OBJECT_CLASSES, SEG_CLASSES, WorldLayout
from tests.demo_world import build_dataset
from tests.test_configs.runner_utils import losses
from tests.test_configs.test_inst_mixing import _images_with, make_toy_coco
from tests.test_configs.test_voc_mixing import make_toy_voc
from tests.test_datasets.synthetic_sets import instances_from_world
from tests.test_datasets.test_synthetic_seg import _generated

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DEMO = osp.join(ROOT, 'projects', 'demo_world', 'configs')
SPLIT = 'train_large'  # the world split the synthetic sets copy (8 images)
# generator class order differs from the world's, so unmapped ids would show
GENERATOR_SEG_CLASSES = ('background', ) + tuple(reversed(OBJECT_CLASSES))
IGNORE_ROWS = 2  # the first rows of every generated mask are 255 (ignore)
TILE_INDICES = [3, 5, 6]  # the three tiles drawn next to the sample's own


def semantic_from_world(world, out, num=8):
    """A generated semantic set holding the world's SPLIT images and masks (generator ids).

    The first ``IGNORE_ROWS`` rows of every mask are 255.
    """
    layout = WorldLayout(world)
    to_generator = np.full(256, 255, np.uint8)
    for world_id, name in enumerate(SEG_CLASSES):
        to_generator[world_id] = GENERATOR_SEG_CLASSES.index(name)
    shard = osp.join(out, 'shards', 'rank00000')
    writer = ShardWriter(shard, classes=GENERATOR_SEG_CLASSES,
                         num_classes=len(GENERATOR_SEG_CLASSES))
    for i in range(num):
        labels = to_generator[world_semantic(world, i)]
        writer.write_sample(i, f'a photo {i}', seed=i,
                            image=np.array(Image.open(layout.image(SPLIT, i))),
                            semantic=labels, scores=dict(mean_confidence=0.9))
    writer.write_sample(num, 'a photo', seed=num, accepted=False, reason='too uncertain')
    merge_shards([shard], out)
    return out


def world_semantic(world, index):
    """The world's mask of SPLIT image ``index`` (world ids) with the ignored rows."""
    mask = np.array(Image.open(WorldLayout(world).semantic(SPLIT, index)))
    mask[:IGNORE_ROWS] = 255
    return mask


@pytest.fixture(scope='module')
def semantic_set(tiny_world, tmp_path_factory):
    return semantic_from_world(tiny_world, str(tmp_path_factory.mktemp('synth_semantic')))


@pytest.fixture(scope='module')
def instance_set(tiny_world, tmp_path_factory):
    return instances_from_world(tiny_world, SPLIT, str(tmp_path_factory.mktemp('synth_inst')))


def sample_index(info):
    """The generator's sample index (= the world image index) of a data info."""
    return int(osp.splitext(osp.basename(info['img_path']))[0])


def tile_corners(center, tile):
    """Top-left corners (x, y) of the four tiles (top-left, top-right, bottom-left,
    bottom-right) of side ``tile`` meeting at ``center``."""
    cx, cy = center
    return [(cx - tile, cy - tile), (cx, cy - tile), (cx - tile, cy), (cx, cy)]


def paste(canvas, tile, corner):
    """Paste ``tile`` (..., h, w) into ``canvas`` with its top-left at ``corner``, cut at the
    canvas border; returns the canvas region (y1, y2, x1, x2) it covers."""
    x0, y0 = corner
    h, w = tile.shape[-2:]
    y1, y2 = max(y0, 0), min(y0 + h, canvas.shape[-2])
    x1, x2 = max(x0, 0), min(x0 + w, canvas.shape[-1])
    canvas[..., y1:y2, x1:x2] = tile[..., y1 - y0:y2 - y0, x1 - x0:x2 - x0]
    return y1, y2, x1, x2


def mosaic_part(config, data_root, scope, mosaic_only=True, **mosaic):
    """Build the synthetic part of a mosaic config on ``data_root``.

    With ``mosaic_only`` the wrapper's pipeline stops after the mosaic, and the mosaic draws
    ``TILE_INDICES`` as its three extra tiles.
    """
    cfg = Config.fromfile(config)
    part = cfg.train_dataloader.dataset.datasets[1]
    assert part.type == 'MultiImageMixDataset'
    part.dataset.data_root = data_root
    part.pipeline[0].update(mosaic)
    if mosaic_only:
        part.pipeline = part.pipeline[:1]
    dataset = build_dataset(part, scope)
    if mosaic_only:
        transform = dataset.pipeline[0]
        name = 'get_indices' if scope == 'mmseg' else 'get_indexes'
        assert hasattr(transform, name)  # what MultiImageMixDataset calls
        setattr(transform, name, lambda _: list(TILE_INDICES))
    return dataset


# ------------------------------------------------------------------ segmentation


def test_seg_mosaic_quadrants_are_the_source_masks(tiny_world, semantic_set):
    dataset = mosaic_part(osp.join(DEMO, 'seg_synth_mosaic_100.py'), semantic_set, 'mmseg')
    mosaic = dataset.pipeline[0]
    assert type(mosaic).__name__ == 'RandomMosaic' and mosaic.img_scale == (32, 32)
    assert len(dataset) == 8
    centers = set()
    for seed, first in ((0, 0), (1, 2), (2, 7), (3, 4)):
        np.random.seed(seed)
        out = dataset[first]
        center = (mosaic.center_x, mosaic.center_y)
        centers.add(center)
        assert 16 <= center[0] <= 48 and 16 <= center[1] <= 48  # ratio 0.5-1.5 of 32
        expected = np.full((64, 64), 255, np.uint8)
        covered = np.zeros((64, 64), bool)
        expected_img = np.zeros((64, 64, 3), np.uint8)
        indices = [first] + TILE_INDICES
        for index, corner in zip(indices, tile_corners(center, 32)):
            world_index = sample_index(dataset.get_data_info(index))
            assert world_index == index  # the manifest keeps the world's order
            source = world_semantic(tiny_world, world_index)
            y1, y2, x1, x2 = paste(expected, source[::2, ::2], corner)
            covered[y1:y2, x1:x2] = True
            img = mmcv.imread(WorldLayout(tiny_world).image(SPLIT, world_index))
            paste(expected_img.transpose(2, 0, 1), mmcv.imresize(img, (32, 32)).transpose(2, 0, 1),
                  corner)
            # the tile's quadrant holds the tile's ids (world ids: the class order of the
            # generator is undone), nothing else
            region = out['gt_seg_map'][y1:y2, x1:x2]
            assert set(np.unique(region)) == set(np.unique(source[::2, ::2][
                y1 - corner[1]:y2 - corner[1], x1 - corner[0]:x2 - corner[0]]))
        seg = out['gt_seg_map']
        assert seg.shape == (64, 64) and seg.dtype == np.uint8
        np.testing.assert_array_equal(seg, expected)
        np.testing.assert_array_equal(out['img'], expected_img)
        # 255 exactly where no tile reaches or a tile's own ignored rows are
        ignored_rows = np.zeros((64, 64), bool)
        for corner in tile_corners(center, 32):
            paste(ignored_rows, np.arange(32)[:, None].repeat(32, 1) < IGNORE_ROWS // 2, corner)
        np.testing.assert_array_equal(seg == 255, ~covered | ignored_rows)
        assert set(np.unique(seg)) - {255} <= set(range(len(SEG_CLASSES)))
        assert (~covered).any() == (center != (32, 32))
    assert len(centers) > 1  # the centre is drawn, not fixed

    # the whole synthetic pipeline: the canvas scale-jittered 0.75-1.5 and cropped to at most
    # 64x64, as a plain sample (the segmentor's preprocessor pads to 64x64), with world ids
    full = mosaic_part(osp.join(DEMO, 'seg_synth_mosaic_100.py'), semantic_set, 'mmseg',
                       mosaic_only=False)
    for i in range(len(full)):
        sample = full[i]
        h, w = sample['inputs'].shape[1:]
        assert sample['inputs'].shape[0] == 3 and 48 <= h == w <= 64
        labels = sample['data_samples'].gt_sem_seg.data
        assert labels.shape == (1, h, w)
        assert set(labels.unique().tolist()) <= set(range(len(SEG_CLASSES))) | {255}


# ------------------------------------------------------------------ instances


def world_instances(coco, index):
    """Masks (N, 64, 64), labels (N,) and boxes (N, 4; x1 y1 x2 y2) of world image ``index``."""
    anns = coco.loadAnns(coco.getAnnIds(imgIds=index + 1))  # image id = index + 1
    names = {c['id']: c['name'] for c in coco.dataset['categories']}
    masks = np.stack([coco.annToMask(a) for a in anns]) if anns else np.zeros((0, 64, 64))
    labels = np.array([OBJECT_CLASSES.index(names[a['category_id']]) for a in anns], np.int64)
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)],
                     np.float32).reshape(-1, 4)
    return masks.astype(np.uint8), labels, boxes


def mask_box(mask):
    """The bounding box (x1, y1, x2, y2; x2/y2 one past the last pixel) of a binary mask."""
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize('tile', [64, 32])
def test_inst_mosaic_instances_follow_their_tiles(tiny_world, instance_set, tile):
    dataset = mosaic_part(osp.join(DEMO, 'inst_synth_mosaic_100.py'), instance_set, 'mmdet',
                          img_scale=(tile, tile))
    mosaic = dataset.pipeline[0]
    assert type(mosaic).__name__ == 'InstanceMosaic' and mosaic.recompute_bbox
    coco = COCO(WorldLayout(tiny_world).instances(SPLIT))
    assert len(dataset) == _images_with(WorldLayout(tiny_world).instances(SPLIT), OBJECT_CLASSES)
    size = 2 * tile
    step = 64 // tile
    clipped_seen = unclipped_seen = 0
    for seed, first in ((0, 0), (1, 1), (2, 7), (3, 2)):
        np.random.seed(seed)
        out = dataset[first]
        center = out['mosaic_center']
        assert tile // 2 <= min(center) and max(center) <= tile * 3 // 2
        assert out['img'].shape == (size, size, 3) and tuple(out['img_shape']) == (size, size)
        exp_masks, exp_labels, exp_boxes, exp_tile, regions = [], [], [], [], []
        for k, (index, corner) in enumerate(zip([first] + TILE_INDICES,
                                                tile_corners(center, tile))):
            masks, labels, boxes = world_instances(coco, sample_index(dataset.get_data_info(index)))
            pasted = np.zeros((len(masks), size, size), np.uint8)
            y1, y2, x1, x2 = paste(pasted, masks[:, ::step, ::step], corner)
            regions.append((y1, y2, x1, x2))
            alive = pasted.any(axis=(1, 2))  # the instances the canvas border leaves
            exp_masks.extend(pasted[alive])
            exp_labels.extend(labels[alive])
            # the source boxes after the same scale and shift
            exp_boxes.extend(boxes[alive] / step + np.array(corner * 2, np.float32))
            exp_tile.extend([k] * int(alive.sum()))
        gt_masks = out['gt_masks'].masks
        boxes = out['gt_bboxes'].numpy()
        labels = out['gt_bboxes_labels']
        # as many instances as survive in the four tiles, with their own labels and masks
        assert len(gt_masks) == len(boxes) == len(labels) == len(exp_labels) > 0
        assert labels.tolist() == [int(x) for x in exp_labels]
        np.testing.assert_array_equal(gt_masks, np.array(exp_masks))
        assert not out['gt_ignore_flags'].any()
        for mask, box, exp_box, k in zip(gt_masks, boxes, exp_boxes, exp_tile):
            assert 0 <= box[0] < box[2] <= size and 0 <= box[1] < box[3] <= size
            assert box.tolist() == mask_box(mask)
            y1, y2, x1, x2 = regions[k]
            assert mask.sum() == mask[y1:y2, x1:x2].sum()  # nothing outside its tile
            if (exp_box >= 0).all() and (exp_box <= size).all():
                # an object the border does not cut: its source box, moved (exactly at scale 1;
                # at 1/2 the nearest-resized mask keeps every second source row and column,
                # source pixel c landing on c / 2: its box lies in the halved source box,
                # whose far edges move by half a pixel)
                if step == 1:
                    np.testing.assert_array_equal(box, exp_box)
                else:
                    assert (box[:2] >= exp_box[:2]).all() and (box[2:] <= exp_box[2:] + 0.5).all()
                unclipped_seen += 1
            else:
                clipped_seen += 1
        # different tiles' masks never meet: tile regions do not overlap
        owner = np.full((size, size), -1)
        for mask, k in zip(gt_masks, exp_tile):
            assert ((owner[mask > 0] == -1) | (owner[mask > 0] == k)).all()
            owner[mask > 0] = k
    assert clipped_seen > 0 and unclipped_seen > 0  # both kinds were checked


def test_mmdet_mosaic_leaves_the_masks_behind(instance_set):
    """Why the instance configs use InstanceMosaic: mmdet's own Mosaic moves boxes only."""
    dataset = mosaic_part(osp.join(DEMO, 'inst_synth_mosaic_100.py'), instance_set, 'mmdet')
    from mmdet.registry import TRANSFORMS
    init_default_scope('mmdet')
    stock = TRANSFORMS.build(dict(type='Mosaic', img_scale=(64, 64)))
    stock.get_indexes = lambda _: list(TILE_INDICES)
    dataset.pipeline[0] = stock
    np.random.seed(0)
    out = dataset[0]
    first = dataset.dataset[0]
    assert len(out['gt_masks']) == len(first['gt_masks']) < len(out['gt_bboxes'])
    assert out['gt_masks'].height == 64 != out['img'].shape[0]


# ------------------------------------------------------------------ training


def two_iterations(cfg, work_dir, batch_size=2):
    """Train 2 iterations, no validation, no checkpoint; return the runner."""
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = cfg[f'{key}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    return Runner.from_cfg(cfg)


def train_and_check(runner, mosaic):
    """Train the runner, then score one batch of mosaics: every loss is finite."""
    runner.train()
    history = losses(runner)
    assert len(history) == 2 and all(math.isfinite(x) for x in history), history
    # the mosaics themselves go through the model (the sampler may not draw them in 2 steps)
    batch = pseudo_collate([mosaic[0], mosaic[1]])
    with torch.no_grad():
        data = runner.model.data_preprocessor(batch, True)
        total, _ = runner.model.parse_losses(runner.model(**data, mode='loss'))
    assert torch.isfinite(total) and total > 0
    return history


@pytest.mark.parametrize('config', ['seg_synth_mosaic_100.py', 'inst_synth_mosaic_100.py'])
def test_demo_mosaic_config_trains(config, tiny_world, semantic_set, instance_set, tmp_path):
    cfg = Config.fromfile(osp.join(DEMO, config))
    base = Config.fromfile(osp.join(DEMO, config.replace('_mosaic', '')))
    real_cfg, synth_cfg = cfg.train_dataloader.dataset.datasets
    # the real part is the one of the plain synthetic config
    assert real_cfg == base.train_dataloader.dataset.datasets[0]
    assert synth_cfg.dataset.pipeline == base.train_pipeline[:2]
    assert synth_cfg.pipeline[1:] == base.train_pipeline[2:]
    seg = config.startswith('seg')
    real_cfg.dataset.data_root = tiny_world
    synth_cfg.dataset.data_root = semantic_set if seg else instance_set
    runner = two_iterations(cfg, tmp_path)
    dataset = runner.train_dataloader.dataset
    real, mosaic = dataset.datasets
    assert type(mosaic).__name__ == 'MultiImageMixDataset'
    assert len(real) == 4 * 8
    expected = 8 if seg else _images_with(WorldLayout(tiny_world).instances(SPLIT),
                                          OBJECT_CLASSES)
    assert len(mosaic) == len(mosaic.dataset) == expected
    assert len(dataset) == 4 * 8 + expected
    assert mosaic.metainfo == real.metainfo
    assert isinstance(dataset.metainfo, dict)  # one metainfo for the mixed set
    assert mosaic.metainfo['classes'] == (SEG_CLASSES if seg else OBJECT_CLASSES)
    sample = mosaic[0]
    if seg:
        assert 48 <= sample['inputs'].shape[1] == sample['inputs'].shape[2] <= 64
    else:
        h, w = sample['inputs'].shape[1:]
        assert 102 <= max(h, w) <= 160  # the 128x128 canvas, scale-jittered 0.8-1.25
        gt = sample['data_samples'].gt_instances
        assert len(gt.masks) == len(gt.bboxes) == len(gt.labels) > 0
    train_and_check(runner, mosaic)


@pytest.mark.slow
def test_voc_mosaic_config_trains(tmp_path):
    voc = make_toy_voc(str(tmp_path / 'VOC2012'))
    synth = _generated(str(tmp_path / 'synth'), classes=('background', 'person', 'car'))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'voc_synth_mosaic_100.py'))
    base = Config.fromfile(osp.join(ROOT, 'configs', 'voc_synth_100.py'))
    real_cfg, synth_cfg = cfg.train_dataloader.dataset.datasets
    assert real_cfg == base.train_dataloader.dataset.datasets[0]
    assert synth_cfg.pipeline[0].img_scale == (256, 256)
    real_cfg.data_root, synth_cfg.dataset.data_root = voc, synth
    # CPU-sized: 32x32 tiles make a 64x64 canvas, 64x64 crops, no ImageNet download
    synth_cfg.pipeline[0].img_scale = (32, 32)
    for pipeline in (real_cfg.pipeline, synth_cfg.pipeline):
        for t in pipeline:
            if t.type == 'RandomResize':
                t.scale = (64, 64)
            elif t.type in ('RandomCrop', 'Pad'):
                t.update(crop_size=(64, 64)) if t.type == 'RandomCrop' else t.update(size=(64, 64))
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = \
        cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.pretrained = None
    init_default_scope('mmseg')
    runner = two_iterations(cfg, tmp_path / 'work')
    dataset = runner.train_dataloader.dataset
    real, mosaic = dataset.datasets
    assert len(real) == 3 and len(mosaic) == 3 and len(dataset) == 6
    from mmseg.datasets import PascalVOCDataset
    assert mosaic.metainfo == real.metainfo
    assert mosaic.metainfo['classes'] == PascalVOCDataset.METAINFO['classes']
    labels = set(mosaic[0]['data_samples'].gt_sem_seg.data.unique().tolist())
    assert 15 in labels and labels <= {0, 7, 15, 255}  # person -> 15, car -> 7 in VOC's ids
    train_and_check(runner, mosaic)


@pytest.mark.slow
def test_coco_mosaic_config_trains(tiny_world, instance_set, tmp_path):
    coco_root = make_toy_coco(tiny_world, str(tmp_path / 'coco')) + '/'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco_inst_synth_mosaic_800.py'))
    base = Config.fromfile(osp.join(ROOT, 'configs', 'coco_inst_synth_800.py'))
    real_cfg, synth_cfg = cfg.train_dataloader.dataset.datasets
    assert real_cfg == base.train_dataloader.dataset.datasets[0]
    assert synth_cfg.pipeline[0].img_scale == (400, 400)
    real_cfg.dataset.data_root = coco_root
    synth_cfg.dataset.update(data_root=instance_set, drop_classes=['cone'],
                             class_map={'ball': 'sports ball', 'tree': 'potted plant'})
    # CPU-sized: 64x64 tiles make a 128x128 canvas, resized to 128 px; no ImageNet download
    synth_cfg.pipeline[0].img_scale = (64, 64)
    for pipeline in (real_cfg.dataset.pipeline, synth_cfg.pipeline):
        for t in pipeline:
            if t.type == 'Resize':
                t.scale = (128, 128)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    runner = two_iterations(cfg, tmp_path / 'work')
    dataset = runner.train_dataloader.dataset
    real, mosaic = dataset.datasets
    train_ann = coco_root + 'annotations/instances_train2017_800.json'
    assert len(real) == 10 * _images_with(train_ann, ('person', 'car', 'sports ball',
                                                      'potted plant'))
    world_ann = WorldLayout(tiny_world).instances(SPLIT)
    assert len(mosaic) == _images_with(world_ann, ('person', 'car', 'ball', 'tree'))
    from mmdet.datasets import CocoDataset
    assert mosaic.metainfo == real.metainfo == CocoDataset.METAINFO
    gt = mosaic[0]['data_samples'].gt_instances
    assert len(gt.masks) == len(gt.bboxes) == len(gt.labels) > 0
    classes = CocoDataset.METAINFO['classes']
    assert {classes[x] for x in gt.labels.tolist()} <= {'person', 'car', 'sports ball',
                                                        'potted plant'}
    train_and_check(runner, mosaic)
