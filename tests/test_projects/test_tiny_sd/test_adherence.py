"""projects/tiny_sd/tools/prompt_adherence.py and its judge: prompts, caption parsing and the
judge's world."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from projects.tiny_sd.tiny_sd import adherence
from tests.tool_module import load_tool


def test_prompts_name_one_class_each_and_captions_are_parsed():
    prompts = adherence.make_prompts(per_class=3, seed=0)
    assert [c for c, _ in prompts] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    for c, prompt in prompts:
        assert adherence.caption_classes(prompt) == [c], prompt
        assert prompt.startswith('a photo of ') and prompt.endswith(adherence.GROUNDS)
    assert adherence.make_prompts(3, 0) == prompts and adherence.make_prompts(3, 1) != prompts
    assert adherence.class_phrase('cone', 'orange') == 'an orange cone'
    assert adherence.class_phrase('person', 'red') == 'a person in red'
    caption = 'a photo of two people, a blue car and three white cones on dirt on a hazy day'
    assert adherence.caption_classes(caption) == [0, 1, 2]
    assert adherence.caption_classes('a photo of a treehouse on grass') == []


def test_wilson_interval_of_the_adherence_rate():
    # scipy.stats.binomtest(72, 100).proportion_ci(method='wilson')
    assert adherence.wilson_interval(72, 100) == pytest.approx((0.6251, 0.7986), abs=1e-4)
    low, high = adherence.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    with pytest.raises(ValueError, match='at least one trial'):
        adherence.wilson_interval(0, 0)


def test_judge_world_grows_on_demand_and_keeps_its_images(tmp_path):
    world = dict(format_version=4, seed=5, height=64, width=64, splits={})
    root = adherence.pool_like_world(world, str(tmp_path), num_train=3, num_test=2)
    image_dir = osp.join(root, 'images', 'judge_train')
    first = {name: open(osp.join(image_dir, name), 'rb').read()
             for name in sorted(os.listdir(image_dir))}
    assert len(first) == 3
    # asking for fewer writes nothing; asking for more keeps the first images
    assert adherence.pool_like_world(world, str(tmp_path), num_train=2, num_test=2) == root
    assert len(os.listdir(image_dir)) == 3
    adherence.pool_like_world(world, str(tmp_path), num_train=5, num_test=2)
    assert len(os.listdir(image_dir)) == 5
    for name, data in first.items():
        assert open(osp.join(image_dir, name), 'rb').read() == data, name

    images, labels = adherence.load_labelled(root, 'judge_train', min_pixels=32, limit=4)
    assert images.shape == (4, 3, 64, 64) and images.dtype == torch.uint8
    assert labels.shape == (4, 5) and set(labels.unique().tolist()) <= {0.0, 1.0}
    # labels are the classes with >= min_pixels mask pixels (mask ids = class + 1)
    mask = np.asarray(Image.open(osp.join(root, 'semantic', 'judge_train', '00000000.png')))
    counts = np.bincount(mask.ravel(), minlength=7)
    assert labels[0].tolist() == [float(counts[c + 1] >= 32) for c in range(5)]
    assert labels.sum() > 0  # the pool-like images hold objects
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f)['seed'] == 5


def untrained_demo_model_and_judge_world(tmp_path, num_test):
    """The adherence module, demo-architecture components with random weights and a
    pool-like world with ``num_test`` labelled judge test images."""
    from mmdatasetdm.diffusion import build_components
    from projects.tiny_sd import tiny_sd as training
    components = build_components(
        unet=training.DEMO_UNET_CONFIG, vae=training.DEMO_VAE_CONFIG,
        text_encoder=training.DEMO_TEXT_ENCODER_CONFIG, scheduler=training.DEMO_SCHEDULER_CONFIG,
        vocabulary=[p for _, p in adherence.make_prompts(4, 0)], num_merges=100, seed=0)
    world = dict(format_version=4, seed=5, height=64, width=64, splits={})
    root = adherence.pool_like_world(world, str(tmp_path), num_train=1, num_test=num_test)
    return adherence, components, root


def test_conditioning_check_compares_captions_inside_object_masks(tmp_path):
    adherence, components, root = untrained_demo_model_and_judge_world(tmp_path, num_test=4)
    pipe = components.as_pipeline()
    result = adherence.conditioning_check(pipe, root, 'judge_test', 4, timesteps=(500, 900))
    # every class counted is one that an alt caption names and its mask shows
    expected = {}
    for line in open(osp.join(root, 'captions', 'judge_test.jsonl')):
        record = json.loads(line)
        stem = osp.splitext(osp.basename(record['file_name']))[0]
        mask = np.asarray(Image.open(osp.join(root, 'semantic', 'judge_test', stem + '.png')))
        named = {c for a in record['alt_captions'] for c in adherence.caption_classes(a)}
        for c in named:
            some_absent = any(not (mask == k + 1).any() for k in range(len(adherence.CLASSES)))
            if (mask == c + 1).sum() >= 32 and some_absent:
                expected[adherence.CLASSES[c]] = expected.get(adherence.CLASSES[c], 0) + 1
    assert {k: v['count'] for k, v in result.items()} == expected and expected
    for row in result.values():
        assert min(row['named'], row['empty'], row['other']) > 0
        assert row['gain'] == pytest.approx(100 * (row['empty'] - row['named']) / row['empty'])
    assert adherence.conditioning_check(pipe, root, 'judge_test', 4, timesteps=(500, 900)) == result


def test_conditioning_check_reads_a_v_prediction_model_as_the_noise_it_implies(tmp_path):
    """A v-prediction UNet that is an epsilon UNet re-parametrised scores the same."""
    from types import SimpleNamespace

    from projects.tiny_sd import tiny_sd as training
    adherence, components, root = untrained_demo_model_and_judge_world(tmp_path, num_test=3)
    eps_pipe = components.as_pipeline()
    expected = adherence.conditioning_check(eps_pipe, root, 'judge_test', 3, timesteps=(300, 800))

    alphas = training.training_noise_scheduler(components.scheduler).alphas_cumprod
    eps_unet = components.unet

    def v_unet(noisy, t, encoder_hidden_states):
        eps = eps_unet(noisy, t, encoder_hidden_states=encoder_hidden_states).sample
        a, s = (alphas[t].sqrt().view(-1, 1, 1, 1), (1 - alphas[t]).sqrt().view(-1, 1, 1, 1))
        x0 = (noisy - s * eps) / a
        return SimpleNamespace(sample=a * eps - s * x0)

    v_scheduler = type(components.scheduler).from_config(components.scheduler.config,
                                                         prediction_type='v_prediction')
    v_pipe = SimpleNamespace(unet=v_unet, vae=eps_pipe.vae, text_encoder=eps_pipe.text_encoder,
                             tokenizer=eps_pipe.tokenizer, scheduler=v_scheduler)
    result = adherence.conditioning_check(v_pipe, root, 'judge_test', 3, timesteps=(300, 800))
    assert result.keys() == expected.keys() and expected
    for name, row in expected.items():
        assert result[name]['count'] == row['count']
        for kind in ('named', 'empty', 'other'):
            assert result[name][kind] == pytest.approx(row[kind], rel=1e-4)


def test_the_tool_reads_its_flags():
    tool = load_tool('projects/tiny_sd/tools/prompt_adherence.py')
    args = tool.parse_args(['--model', 'm', '--world', 'w', '--per-class', '40', '--seed', '1'])
    assert (args.model, args.world, args.per_class, args.seed) == ('m', 'w', 40, 1)
