import pytest
import torch

from mmdatasetdm.diffusion import (CaptureConfig, CrossAttentionRecorder, DiffusionFeatureExtractor,
                                   FeatureCapture, FeaturePyramid)
from mmdatasetdm.diffusion.text import PromptEncoder


@pytest.fixture
def extractor(tiny_components):
    with DiffusionFeatureExtractor(tiny_components) as ex:
        yield ex


def _images(batch, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g) * 2 - 1


def test_features_at_every_up_block_resolution(extractor):
    ex = extractor
    pyr = ex.invert(_images(2), ['a photo of a person'] * 2, words=[['person']] * 2,
                    generator=torch.Generator().manual_seed(0))
    # tiny UNet: block_out_channels (32, 32, 64, 64) -> SD-1.x structure at 64x64 input
    assert [(lv.name, lv.stride, lv.channels, lv.size) for lv in pyr.levels] == [
        ('up_blocks.3', 8, 32, (8, 8)), ('up_blocks.2', 16, 32, (4, 4)),
        ('up_blocks.1', 32, 64, (2, 2)), ('up_blocks.0', 64, 64, (1, 1))]
    assert ex.capture.feature_info() == [dict(name=lv.name, stride=lv.stride, channels=lv.channels)
                                         for lv in pyr.levels]
    assert sorted(pyr.attention) == ex.capture.attention_strides() == [8, 16, 32, 64]
    for stride, maps in pyr.attention.items():
        assert maps.shape == (2, 77, 64 // stride, 64 // stride)
        torch.testing.assert_close(maps.sum(1), torch.ones(2, 64 // stride, 64 // stride))
    assert pyr.token_indices == [{'person': [5]}, {'person': [5]}]
    assert pyr.timestep == 1 and pyr.prompts == ['a photo of a person'] * 2


def test_attention_responds_to_the_prompt(extractor):
    ex = extractor
    images = _images(1).repeat(2, 1, 1, 1)
    pyr = ex.invert(images, ['a photo of a person', 'a photo of a car'],
                    generator=[torch.Generator().manual_seed(0) for _ in range(2)])
    word_maps = pyr.attention[8][:, 5]  # the class word's token
    assert not torch.allclose(word_maps[0], word_maps[1], atol=1e-4)
    # the same prompt on the same image and noise gives the same map
    again = ex.invert(images[:1], ['a photo of a person'],
                      generator=[torch.Generator().manual_seed(0)])
    torch.testing.assert_close(again.attention[8][0], pyr.attention[8][0])


@pytest.mark.parametrize('batch', [1, 3])
def test_cfg_batch_keeps_the_conditional_half(tiny_components, batch):
    """A [uncond; cond] UNet batch captured with slice(B, 2B) equals a cond-only pass."""
    unet = tiny_components.unet
    enc = PromptEncoder(tiny_components.tokenizer, tiny_components.text_encoder)
    prompts = ['a photo of a person', 'a photo of a car', 'a photo of a dog'][:batch]
    cond = enc(prompts)
    uncond = enc([''] * batch)
    latents = torch.randn(batch, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    t = torch.tensor(11)
    with FeatureCapture(unet) as capture:
        with capture.arm(11, batch_slice=slice(batch, 2 * batch)):
            unet(torch.cat([latents, latents]), t, encoder_hidden_states=torch.cat([uncond, cond]))
            cfg_levels, cfg_attn = capture.result()
        with capture.arm(11):
            unet(latents, t, encoder_hidden_states=cond)
            levels, attn = capture.result()
        with capture.arm(11, batch_slice=slice(0, batch)):
            unet(torch.cat([latents, latents]), t, encoder_hidden_states=torch.cat([uncond, cond]))
            _, uncond_attn = capture.result()
    for a, b in zip(cfg_levels, levels):
        assert a.features.shape[0] == batch
        torch.testing.assert_close(a.features, b.features, atol=1e-5, rtol=1e-4)
    for s in attn:
        torch.testing.assert_close(cfg_attn[s], attn[s], atol=1e-5, rtol=1e-4)
        assert not torch.allclose(uncond_attn[s], attn[s], atol=1e-4)


def test_capture_never_changes_the_unet_output(tiny_components):
    unet = tiny_components.unet
    enc = PromptEncoder(tiny_components.tokenizer, tiny_components.text_encoder)
    emb = enc(['a photo of a person', 'a red cone'])
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    t = torch.tensor(5)
    with torch.no_grad():
        plain = unet(x, t, encoder_hidden_states=emb).sample
        original = dict(unet.attn_processors)
        with FeatureCapture(unet) as capture:
            assert all(isinstance(p, CrossAttentionRecorder) for p in unet.attn_processors.values())
            with capture.arm(5):
                observed = unet(x, t, encoder_hidden_states=emb).sample
            assert capture.captured
        restored = dict(unet.attn_processors)
    assert torch.equal(plain, observed)
    assert {k: type(v) for k, v in restored.items()} == {k: type(v) for k, v in original.items()}


def test_only_cross_attention_is_recorded(tiny_components, monkeypatch):
    """Self-attention layers never compute or store probabilities."""
    unet = tiny_components.unet
    recorded_keys = []
    original = CrossAttentionRecorder._record

    def spy(self, attn, hidden_states, encoder_hidden_states, temb):
        recorded_keys.append(encoder_hidden_states.shape[1])
        return original(self, attn, hidden_states, encoder_hidden_states, temb)

    monkeypatch.setattr(CrossAttentionRecorder, '_record', spy)
    emb = PromptEncoder(tiny_components.tokenizer, tiny_components.text_encoder)(['a cat'])
    with FeatureCapture(unet) as capture, capture.arm(3):
        unet(torch.randn(1, 4, 8, 8), torch.tensor(3), encoder_hidden_states=emb)
    num_cross = sum(1 for name in unet.attn_processors if name.endswith('attn2.processor'))
    # SD-1.x layout with one layer per block: 3 down x 1 + 1 mid + 3 up x 2
    assert len(recorded_keys) == num_cross == 10
    assert set(recorded_keys) == {77}


def test_capture_selects_strides_and_blocks(tiny_components):
    cfg = CaptureConfig(feature_blocks=(2, 3), attention_strides=(16,), attention_parts=('up',))
    with DiffusionFeatureExtractor(tiny_components, capture=cfg) as ex:
        pyr = ex.invert(_images(1), ['a red cone'])
    assert [lv.name for lv in pyr.levels] == ['up_blocks.3', 'up_blocks.2']
    assert list(pyr.attention) == [16]
    with DiffusionFeatureExtractor(tiny_components, capture=dict(attention_strides=())) as ex:
        assert ex.invert(_images(1), ['a red cone']).attention == {}


def test_unarmed_timesteps_pass_through(tiny_components):
    unet = tiny_components.unet
    emb = PromptEncoder(tiny_components.tokenizer, tiny_components.text_encoder)(['a cat'])
    with FeatureCapture(unet) as capture, capture.arm(7):
        unet(torch.randn(1, 4, 8, 8), torch.tensor(8), encoder_hidden_states=emb)
        assert not capture.captured
        with pytest.raises(RuntimeError, match='nothing was captured'):
            capture.result()


def test_pyramid_select_cat_and_state_round_trip(extractor):
    ex = extractor
    pyr = ex.invert(_images(3), ['a photo of a person', 'a photo of a car', 'a red cone'],
                    words=[['person'], ['car'], ['cone']])
    sub = pyr.select([2, 0])
    assert sub.prompts == ['a red cone', 'a photo of a person']
    torch.testing.assert_close(sub.levels[0].features[1], pyr.levels[0].features[0])
    back = FeaturePyramid.cat([pyr.select([0]), pyr.select([1, 2])])
    for a, b in zip(back.levels, pyr.levels):
        assert torch.equal(a.features, b.features)
    restored = FeaturePyramid.from_state(pyr.to_state())
    assert restored.token_indices == pyr.token_indices
    assert torch.equal(restored.attention[16], pyr.attention[16])
    with pytest.raises(KeyError, match='no feature level'):
        pyr['down_blocks.0']


def test_image_convention_and_size_are_checked(extractor):
    ex = extractor
    with pytest.raises(ValueError, match=r'must lie in \[-1, 1\]'):
        ex.invert(torch.rand(1, 3, 64, 64) * 255, ['a cat'])
    with pytest.raises(ValueError, match='multiple of 64'):
        ex.invert(torch.zeros(1, 3, 48, 64), ['a cat'])
    with pytest.raises(ValueError, match='shape'):
        ex.invert(torch.zeros(1, 1, 64, 64), ['a cat'])
    with pytest.raises(ValueError, match='2 prompts for 1 images'):
        ex.invert(torch.zeros(1, 3, 64, 64), ['a cat', 'a dog'])
