"""The pinned OpenMMLab stack works: mmcv's compiled CPU ops, and each toolbox's
stock model building and running a forward pass under its own default scope."""
import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import DefaultScope


def test_mmcv_cpu_ops():
    from mmcv.ops import MultiScaleDeformableAttention, RoIAlign, nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float)
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feats = torch.arange(16, dtype=torch.float).view(1, 1, 4, 4)
    roi = torch.tensor([[0, 0.0, 0.0, 4.0, 4.0]])
    # one sample per 2x2 bin, at the bin centre; feats[y, x] = 4y + x
    pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=False)(feats, roi)
    assert pooled.shape == (1, 1, 2, 2)
    torch.testing.assert_close(pooled.flatten(), torch.tensor([5., 7., 13., 15.]))
    # aligned=True shifts sampling points by half a pixel
    pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=True)(feats, roi)
    torch.testing.assert_close(pooled.flatten(), torch.tensor([2.5, 4.5, 10.5, 12.5]))
    attn = MultiScaleDeformableAttention(embed_dims=32, num_heads=4, num_levels=2, num_points=2,
                                         batch_first=True)
    shapes = torch.tensor([[8, 8], [4, 4]])
    start = torch.tensor([0, 64])
    value = torch.randn(1, 80, 32)
    query = torch.randn(1, 80, 32)
    ref = torch.rand(1, 80, 2, 2)
    out = attn(query, value=value, reference_points=ref, spatial_shapes=shapes,
               level_start_index=start)
    assert out.shape == (1, 80, 32) and torch.isfinite(out).all()


@pytest.mark.parametrize('scope,cfg_path', [
    ('mmseg', 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'),
    ('mmdet', 'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py'),
    ('mmpose',
     'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'),
])
def test_stock_model_forward_under_its_scope(scope, cfg_path):
    cfg = get_config(cfg_path)
    assert cfg.default_scope == scope
    cfg.model.backbone.init_cfg = None
    if scope == 'mmseg':
        cfg.model.pretrained = None
        cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
        cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)
        cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    with DefaultScope.overwrite_default_scope(scope):
        if scope == 'mmseg':
            from mmseg.registry import MODELS
            from mmseg.structures import SegDataSample
        elif scope == 'mmdet':
            from mmdet.registry import MODELS
            from mmdet.structures import DetDataSample
        else:
            from mmpose.registry import MODELS
            from mmpose.structures import PoseDataSample
        model = MODELS.build(cfg.model).eval()
        with torch.no_grad():
            if scope == 'mmseg':
                img = torch.rand(3, 64, 64) * 255
                data = model.data_preprocessor(dict(inputs=[img], data_samples=[SegDataSample(
                    metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))]), False)
                out = model(**data, mode='predict')
                assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
                assert int(out[0].pred_sem_seg.data.max()) < 21
            elif scope == 'mmdet':
                img = torch.rand(3, 64, 64) * 255
                sample = DetDataSample(
                    metainfo=dict(
                        img_shape=(64, 64),
                        ori_shape=(64, 64),
                        batch_input_shape=(64, 64),
                        scale_factor=(1., 1.)))
                data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
                out = model(**data, mode='predict')
                assert out[0].pred_instances.masks.shape[-2:] == (64, 64)
                assert len(out[0].pred_instances.labels) == cfg.model.test_cfg.max_per_image
            else:
                img = torch.rand(3, 256, 192) * 255
                sample = PoseDataSample(metainfo=dict(
                    img_shape=(256, 192), input_size=(192, 256), input_center=[96., 128.],
                    input_scale=[192., 256.], flip_indices=list(range(17))))
                data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
                feats = model.extract_feat(data['inputs'])
                heatmaps = model.head.forward(feats)
                assert heatmaps.shape == (1, 17, 64, 48)
