"""HypercolumnDepthHead: shapes, depth range, loss and gradients, clear errors."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmdatasetdm.models import HypercolumnDepthHead


def _head(**kwargs):
    cfg = dict(in_channels=[8, 8, 8], in_index=(0, 1, 2), channels=8, max_depth=5.0,
               norm_cfg=dict(type='GN', num_groups=4))
    cfg.update(kwargs)
    return HypercolumnDepthHead(**cfg)


def _inputs(batch=2):
    torch.manual_seed(0)
    return tuple(torch.randn(batch, 8, 16 // s, 16 // s) for s in (1, 2, 4))


def test_forward_is_bounded_depth_at_the_finest_stride():
    depth = _head()(_inputs())
    assert depth.shape == (2, 1, 16, 16)
    assert 0 < depth.min() and depth.max() < 5.0


def test_loss_ignores_invalid_pixels_and_backpropagates():
    head = _head()
    samples = []
    for value in (1.0, 3.0):
        gt = torch.full((1, 32, 32), value)
        gt[:, :4] = 0  # unknown depth
        samples.append(SegDataSample(gt_depth_map=PixelData(data=gt)))
    losses = head.loss_by_feat(head(_inputs()), samples)
    assert set(losses) == {'loss_silog'}
    assert torch.isfinite(losses['loss_silog']) and losses['loss_silog'] > 0
    losses['loss_silog'].backward()
    assert head.conv_seg.weight.grad.abs().sum() > 0


def test_missing_ground_truth_and_bad_arguments_raise():
    head = _head()
    with pytest.raises(KeyError, match='LoadDepthAnnotation'):
        head.loss_by_feat(head(_inputs()), [SegDataSample(), SegDataSample()])
    with pytest.raises(ValueError, match='max_depth'):
        _head(max_depth=0)
    with pytest.raises(ValueError, match='num_convs'):
        _head(num_convs=0)
