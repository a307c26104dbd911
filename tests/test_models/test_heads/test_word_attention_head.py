"""WordAttentionHead: one scoring network for every class word (zero-shot labelling)."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmdatasetdm.diffusion import FeatureLevel, FeaturePyramid
from mmdatasetdm.models.decode_heads import WordAttentionHead

WORDS = ['person', 'car', 'cone']


def _head(words=WORDS, **kw):
    torch.manual_seed(0)
    neck = dict(type='mmdatasetdm.HypercolumnNeck', in_channels=[8, 16], in_strides=[2, 4],
                out_channels=16, out_strides=(2, ), norm_cfg=dict(type='GN', num_groups=4))
    return WordAttentionHead(neck=neck, attention=dict(tokens='words', words=words,
                                                       strides=[4]),
                             channels=16, dropout_ratio=0.0, **kw).eval()


def _pyramid(token_indices, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = len(token_indices)
    levels = [FeatureLevel('up_blocks.1', 2, torch.randn(batch, 8, 16, 16, generator=g)),
              FeatureLevel('up_blocks.0', 4, torch.randn(batch, 16, 8, 8, generator=g))]
    attention = {4: torch.rand(batch, 10, 8, 8, generator=g)}
    return FeaturePyramid(levels=levels, attention=attention, token_indices=token_indices)


def test_every_class_is_scored_by_the_same_network():
    head = _head()
    pyramid = _pyramid([{'person': [1], 'car': [2], 'cone': [3]}])
    logits = head(pyramid)
    assert logits.shape == (1, 4, 16, 16)
    # the classes have no weights of their own: a class scores what its word's map gives,
    # so swapping the token positions of two words swaps their logit maps exactly
    swapped = head(_pyramid([{'person': [1], 'car': [3], 'cone': [2]}]))
    assert torch.allclose(swapped[:, 2], logits[:, 3], atol=1e-6)
    assert torch.allclose(swapped[:, 3], logits[:, 2], atol=1e-6)
    assert torch.equal(swapped[:, :2], logits[:, :2])
    # a word the prompt does not name gets the same score as any other unnamed word
    absent = head(_pyramid([{'person': [1]}]))
    assert torch.allclose(absent[:, 2], absent[:, 3])
    # a head built with more words labels them with the same weights: an added (unseen)
    # class needs nothing new
    wider = _head(WORDS + ['ball'])
    wider.load_state_dict(head.state_dict())
    both = wider(_pyramid([{'person': [1], 'car': [2], 'cone': [3], 'ball': [4]}]))
    assert torch.allclose(both[:, :4], logits, atol=1e-6)


def test_loss_ignores_hidden_pixels_and_trains_the_shared_weights():
    head = _head().train()
    pyramid = _pyramid([{'person': [1], 'cone': [3]}, {'car': [2]}])
    samples = []
    for b in range(2):
        gt = torch.zeros(1, 32, 32, dtype=torch.long)
        gt[:, :8] = 1 + b
        gt[:, 24:] = 255  # a hidden class's pixels
        sample = SegDataSample(gt_sem_seg=PixelData(data=gt))
        sample.set_metainfo(dict(img_shape=(32, 32), pad_shape=(32, 32)))
        samples.append(sample)
    losses = head.loss_by_feat(head(pyramid), samples)
    losses['loss_ce'].backward()
    assert torch.isfinite(losses['loss_ce'])
    assert head.score.weight.grad.abs().sum() > 0 and head.background.weight.grad is not None
    assert head.conv_seg is None


def test_bad_arguments():
    with pytest.raises(ValueError, match='needs attention=dict'):
        _head(words=[])
    with pytest.raises(ValueError, match='num_classes=5, but the background and 3 words'):
        _head(num_classes=5)
