"""tools/analysis_tools/browse_dataset.py and mmdatasetdm.visualization:
overlays drawn by each toolbox's
visualizer on a small demo world, tiled into PNG grids; the generated-set gallery."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmdatasetdm.visualization import (BrowseError, browse_dataset, build_browse_dataset,
                                       grid_geometry, sample_image, synthetic_gallery, tile_images)
from projects.demo_world.demo_world import SEG_METAINFO
from tests.tool_module import load_tool
from tests.toy_data import make_toy_coco_instance_dataset, make_toy_pose_dataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
SEG_CONFIG = osp.join(ROOT, 'projects', 'demo_world', 'configs', 'seg_real_100.py')
SIZE = 64


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A 64x64 demo world with 4 training and 3 test images."""
    from projects.demo_world.demo_world import generate_world
    root = str(tmp_path_factory.mktemp('browse_world'))
    generate_world(
        root,
        progress=False,
        seed=3,
        size=SIZE,
        pool=0,
        train_100=4,
        train_large=0,
        test=3,
        test_shifted=0)
    return root


def _browse_tool():
    return load_tool('tools/analysis_tools/browse_dataset.py')


def _png(path):
    return np.asarray(Image.open(path).convert('RGB'))


def _tile(grid, geometry, index, shape):
    y, x = geometry.origin(index)
    return grid[y:y + shape[0], x:x + shape[1]]


def _first_stem(world, split):
    with open(osp.join(world, 'splits', f'{split}.txt')) as f:
        return f.read().split()[0]


# ---------------------------------------------------------------- grid
def test_tile_images_places_tiles_in_cells_of_the_largest_tile():
    a = np.full((4, 6, 3), 10, np.uint8)
    b = np.full((8, 3), 20, np.uint8)  # grey, taller
    grid = tile_images([a, b, a], cols=2, pad=1, pad_value=255)
    geometry = grid_geometry([a.shape, b.shape, a.shape], cols=2, pad=1)
    assert (geometry.rows, geometry.cols, geometry.cell_height, geometry.cell_width) == (2, 2, 8, 6)
    assert grid.shape == (geometry.height, geometry.width, 3) == (2 * 8 + 3, 2 * 6 + 3, 3)
    assert (grid[1:5, 1:7] == 10).all() and (grid[5:9, 1:7]
                                             == 255).all()  # a, then padding below it
    assert (grid[1:9, 8:11] == 20).all() and (grid[1:9, 11:13] == 255).all()
    assert (grid[10:14, 1:7] == 10).all() and (grid[10:18, 8:14]
                                               == 255).all()  # third tile, empty cell
    with pytest.raises(ValueError, match='at least one tile'):
        tile_images([])


# ---------------------------------------------------------------- semantic (mmseg)
def test_semantic_grid_of_the_demo_config_blends_the_palette_where_the_mask_is(world, tmp_path):
    out = str(tmp_path / 'out')
    result = _browse_tool().main([
        SEG_CONFIG, '--no-pipeline', '--no-labels', '--num', '4', '--cols', '3', '--output-dir',
        out, '--not-show', '--cfg-options', f'train_dataloader.dataset.data_root={world}'
    ])
    assert result.task == 'semantic' and result.num_samples == 4
    assert result.files == [osp.join(out, 'train_semantic_000.png')]
    grid = _png(result.files[0])
    # 3 columns x 2 rows of 64x64 cells, 2 px padding around and between
    assert grid.shape == (2 * SIZE + 3 * 2, 3 * SIZE + 4 * 2, 3)
    # tile 0 is the split's first image under SegLocalVisualizer's blend (alpha 0.8)
    stem = _first_stem(world, 'train_100')
    image = _png(osp.join(world, 'images', 'train_100', f'{stem}.png')).astype(np.float64)
    mask = np.asarray(Image.open(osp.join(world, 'semantic', 'train_100', f'{stem}.png')))
    palette = np.asarray(SEG_METAINFO['palette'], np.float64)
    tile = _tile(grid, result.geometries[0], 0, (SIZE, SIZE)).astype(int)
    expected = (image * (1 - 0.8) + palette[mask] * 0.8).astype(int)
    assert np.abs(tile - expected).max() <= 1
    objects = mask > 0
    assert objects.any() and (np.abs(tile - image).max(axis=2)[objects] > 10).mean() > 0.95
    # the last cell of the second row is empty padding
    assert (_tile(grid, result.geometries[0], 5, (SIZE, SIZE)) == 255).all()


def test_semantic_through_the_train_pipeline_and_pages(world, tmp_path):
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': world})
    result = browse_dataset(cfg, str(tmp_path), num=4, cols=2, max_rows=1, progress=False)
    assert result.files == [str(tmp_path / f'train_semantic_00{k}.png') for k in (0, 1)]
    # RandomResize + RandomCrop(64): tiles of at most 64x64; each grid fits its two tiles
    assert all(s[0] <= SIZE and s[1] <= SIZE for s in result.tile_shapes)
    for path, geometry, shapes in zip(result.files, result.geometries,
                                      (result.tile_shapes[:2], result.tile_shapes[2:])):
        assert _png(path).shape == (geometry.height, geometry.width, 3)
        assert geometry == grid_geometry(shapes, cols=2, pad=2)


# ---------------------------------------------------------------- instance (mmdet)
def _det_config(world, pipeline):
    return Config(
        dict(
            default_scope='mmdet',
            train_dataloader=dict(
                dataset=dict(
                    type='mmdatasetdm.DemoWorldDetDataset',
                    data_root=world,
                    split='train_100',
                    pipeline=pipeline))))


def test_instances_drawn_by_mmdet_change_masks_and_nothing_far_from_them(world, tmp_path):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(2 * SIZE, 2 * SIZE), keep_ratio=True),
        dict(type='PackDetInputs')
    ]
    cfg = _det_config(world, pipeline)
    result = browse_dataset(cfg, str(tmp_path), num=3, cols=3, progress=False)
    assert result.task == 'instance' and result.tile_shapes == [(2 * SIZE, 2 * SIZE, 3)] * 3
    grid = _png(result.files[0])
    assert grid.shape == (2 * SIZE + 4, 3 * 2 * SIZE + 8, 3)
    item = build_browse_dataset(cfg, 'train')[0]
    image = sample_image(item['inputs'])
    instances = item['data_samples'].gt_instances
    masks = instances.masks.to_ndarray().astype(bool)
    assert len(masks) and image.shape == (2 * SIZE, 2 * SIZE, 3)
    changed = np.any(_tile(grid, result.geometries[0], 0, image.shape) != image, axis=2)
    assert changed[masks.any(0)].all()
    near = np.zeros_like(changed)  # boxes, their outline and the label text right of the corner
    for x1, y1, x2, y2 in instances.bboxes.tensor.numpy().astype(int):
        near[max(y1 - 6, 0):y2 + 6, max(x1 - 6, 0):x2 + 48] = True
    assert (~near).sum() > 500 and not changed[~near].any()


def test_instance_tiny_config_raw_loading(tmp_path):
    """An existing config (instance P-Decoder, toy COCO data): --no-pipeline drops AddPrompt."""
    data = make_toy_coco_instance_dataset(str(tmp_path / 'data'), num=3, size=48)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'pdecoder', 'instance_tiny.py'))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data})
    result = browse_dataset(cfg, str(tmp_path / 'out'), num=3, cols=2, raw=True, progress=False)
    assert result.task == 'instance' and result.tile_shapes == [(48, 48, 3)] * 3
    assert _png(result.files[0]).shape == (2 * 48 + 6, 2 * 48 + 6, 3)


# ---------------------------------------------------------------- pose (mmpose)
def _pose_config(world, pipeline):
    return Config(dict(default_scope='mmpose', val_dataloader=dict(dataset=dict(
        type='mmdatasetdm.DemoWorldPoseDataset', data_root=world, split='test', data_mode='topdown',
        test_mode=True, pipeline=pipeline))))


def test_keypoints_drawn_by_mmpose_where_the_transformed_keypoints_are(world, tmp_path):
    pipeline = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
                dict(type='TopdownAffine', input_size=(48, 64)), dict(type='PackPoseInputs')]
    cfg = _pose_config(world, pipeline)
    result = browse_dataset(cfg, str(tmp_path), split='val', num=2, cols=2, progress=False)
    assert result.task == 'pose' and result.tile_shapes == [(64, 48, 3)] * 2
    grid = _png(result.files[0])
    assert grid.shape == (64 + 4, 2 * 48 + 6, 3)
    item = build_browse_dataset(cfg, 'val')[0]
    image = sample_image(item['inputs'])
    instances = item['data_samples'].gt_instances
    tile = _tile(grid, result.geometries[0], 0, image.shape)
    points = instances.transformed_keypoints[0][instances.keypoints_visible[0] > 0]
    inside = [(int(round(y)), int(round(x))) for x, y in points if 0 <= x < 47 and 0 <= y < 63]
    assert len(inside) >= 5
    assert all(np.any(tile[y, x] != image[y, x]) for y, x in inside)
    # raw: the whole 64x64 image, keypoints in image coordinates
    raw = browse_dataset(cfg, str(tmp_path / 'raw'), split='val', num=1, raw=True, progress=False)
    assert raw.tile_shapes == [(SIZE, SIZE, 3)]


def test_pose_tiny_config_browses_its_toy_keypoints(tmp_path):
    data = make_toy_pose_dataset(str(tmp_path / 'data'), num=2, size=64)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'pdecoder', 'pose_tiny.py'))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data})
    result = browse_dataset(cfg, str(tmp_path / 'out'), num=2, cols=2, progress=False)
    assert result.task == 'pose' and result.tile_shapes == [(128, 128, 3)] * 2


# ---------------------------------------------------------------- depth (mmseg)
def test_depth_drawn_by_mmseg_under_its_image(world, tmp_path):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
        dict(type='PackSegInputs')
    ]
    cfg = Config(
        dict(
            default_scope='mmseg',
            test_dataloader=dict(
                dataset=dict(
                    type='mmdatasetdm.DemoWorldDepthDataset',
                    data_root=world,
                    split='test',
                    pipeline=pipeline))))
    result = browse_dataset(cfg, str(tmp_path), split='test', num=3, cols=3, progress=False)
    assert result.task == 'depth' and result.tile_shapes == [(2 * SIZE, SIZE, 3)] * 3
    grid = _png(result.files[0])
    assert grid.shape == (2 * SIZE + 4, 3 * SIZE + 8, 3)
    dataset = build_browse_dataset(cfg, 'test')
    item = dataset[0]
    depth = item['data_samples'].gt_depth_map.data[0].numpy()
    tile = _tile(grid, result.geometries[0], 0, (2 * SIZE, SIZE))
    assert (tile[:SIZE] == sample_image(item['inputs'])).all()  # the image itself, on top
    colours = tile[SIZE:].astype(int)  # JET colour map: far is red, near (and no depth) is blue
    far = np.unravel_index(depth.argmax(), depth.shape)
    near = np.unravel_index(depth.argmin(), depth.shape)
    assert depth[far] > depth[near]
    assert colours[far][0] > colours[far][2] and colours[near][2] > colours[near][0]


# ---------------------------------------------------------------- errors, CLI
def test_bad_split_and_empty_dataset_are_clear_errors(world, tmp_path, capsys):
    tool = _browse_tool()
    with pytest.raises(SystemExit) as err:
        tool.main([SEG_CONFIG, '--split', 'training', '--not-show'])
    assert err.value.code == 2 and "invalid choice: 'training'" in capsys.readouterr().err
    cfg = Config(
        dict(
            default_scope='mmseg',
            train_dataloader=dict(
                dataset=dict(
                    type='BaseSegDataset',
                    data_root=str(tmp_path),
                    data_prefix=dict(img_path='img', seg_map_path='ann'),
                    pipeline=[dict(type='LoadImageFromFile'),
                              dict(type='PackSegInputs')]))))
    with pytest.raises(
            BrowseError,
            match=r"has no val_dataloader.dataset; it has datasets for splits \['train'\]"):
        browse_dataset(cfg, str(tmp_path), split='val')
    with pytest.raises(BrowseError, match='unknown split'):
        browse_dataset(cfg, str(tmp_path), split='validation')
    os.makedirs(tmp_path / 'img')
    os.makedirs(tmp_path / 'ann')
    with pytest.raises(BrowseError, match='train dataset .*BaseSegDataset.* is empty'):
        browse_dataset(cfg, str(tmp_path))
    path = str(tmp_path / 'empty.py')
    cfg.dump(path)
    with pytest.raises(SystemExit, match='browse_dataset.py: the train dataset .* is empty'):
        tool.main([path, '--not-show', '--output-dir', str(tmp_path / 'out')])
    assert not osp.exists(tmp_path / 'out')


def test_command_line(world, tmp_path):
    out = subprocess.run(
        [sys.executable, 'tools/analysis_tools/browse_dataset.py',
         'projects/demo_world/configs/seg_real_100.py', '--split', 'val', '--num', '2',
         '--scale', '2', '--output-dir', str(tmp_path), '--cfg-options',
         f'val_dataloader.dataset.data_root={world}'],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, DISPLAY=''), capture_output=True,
        text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '2 val samples (semantic) drawn into:' in out.stdout and 'no display' in out.stdout
    # two 64x64 tiles in one row, padded by 2, scaled by 2
    assert _png(tmp_path / 'val_semantic_000.png').shape == (2 * (SIZE + 4), 2 * (2 * SIZE + 6), 3)


# ---------------------------------------------------------------- gallery of a generated set
def _generated_set(root, accept=(True, True, False, True)):
    """A merged generated dataset with every annotation kind: 32x48 images, a person
    box and a cone box in the semantic map and as instances, one 3-keypoint pose."""
    from mmdatasetdm.generation.writers import KeypointMeta, ShardWriter, merge_shards
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'), num_classes=3,
                         classes=['background', 'person', 'cone'],
                         categories=[dict(id=1, name='person'), dict(id=3, name='cone')],
                         keypoint_meta=KeypointMeta(names=('head', 'hand', 'foot'),
                                                    skeleton=((0, 1), (0, 2))))
    for index, accepted in enumerate(accept):
        semantic = np.zeros((32, 48), np.uint8)
        semantic[5:15, 5:20], semantic[20:30, 30:40], semantic[0] = 1, 2, 255
        masks = np.stack([semantic == 1, semantic == 2])
        writer.write_sample(
            index,
            'a photo of a person and a cone',
            seed=index,
            accepted=accepted,
            reason=None if accepted else 'low_score',
            image=np.full((32, 48, 3), 40 * index, np.uint8),
            semantic=semantic,
            depth=np.tile(np.linspace(1.0, 5.0, 48), (32, 1)),
            instances=dict(masks=masks, labels=np.array([0, 1]), scores=np.array([0.9, 0.8])),
            keypoints=dict(
                keypoints=np.array([[[10, 6, 2], [6, 12, 2], [18, 14, 0]]], float), scores=[0.9]))
    merge_shards([writer.dir], root)
    return root


def test_gallery_draws_each_accepted_sample_with_every_annotation(tmp_path):
    root = _generated_set(str(tmp_path / 'synth'))
    palette = [(0, 0, 0), (200, 10, 10), (10, 200, 10)]
    out = synthetic_gallery(root, str(tmp_path / 'gallery.png'), cols=2, palette=palette, scale=1)
    grid = _png(out)
    # 3 accepted samples (sample 2 was rejected), 2 per row; a tile is 5 panels of 48 px:
    # image, semantic colours, depth colours, instances (mmdet), keypoints (mmpose)
    geometry = grid_geometry([(32, 5 * 48, 3)] * 3, cols=2, pad=2)
    assert grid.shape == (geometry.height, geometry.width, 3) == (2 * 32 + 6, 2 * 240 + 6, 3)
    tile = _tile(grid, geometry, 2, (32, 240))  # sample 3
    image, semantic, depth, instances, pose = (tile[:, k * 48:(k + 1) * 48] for k in range(5))
    assert (image == 120).all()
    assert (semantic[0] == 255).all()  # ignore is white
    assert (semantic[5:15, 5:20] == palette[1]).all() and (semantic[20:30, 30:40]
                                                           == palette[2]).all()
    assert (semantic[1:5] == 0).all()
    assert depth[:, -1, 0].min() > depth[:, -1, 2].max() and depth[:, 0, 2].min() > depth[:, 0,
                                                                                          0].max()
    assert np.any(instances[7:13, 8:17] != 120, axis=-1).all()  # inside the person mask
    assert np.any(pose[6, 10] != 120) and np.any(pose[12, 6] != 120)  # visible keypoints
    assert (pose[28:, :] == 120).all()
    # an empty selection writes nothing
    empty = _generated_set(str(tmp_path / 'none'), accept=(False, ))
    assert synthetic_gallery(empty, str(tmp_path / 'none.png')) is None
    assert not osp.exists(tmp_path / 'none.png')
