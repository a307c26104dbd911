"""Training the tiny SD model: losses fall, resume is exact, the folder loads."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmdatasetdm.diffusion import build_components, load_components, tokenize
from projects.tiny_sd.tiny_sd import (DEMO_SCHEDULER_CONFIG, CaptionBank, StageConfig, TinySDRecipe,
                                      UNetLossConfig, encode_latents, finetune_decoder,
                                      latent_scaling_factor, load_checkpoint,
                                      load_image_folder_split, train_tiny_sd, train_unet, train_vae)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
SHIPPED = osp.join(REPO, 'checkpoints', 'demo-world-sd')

# 16x16 images -> 8x8 latents (factor 2); a 4-level SD-shaped UNet on top.
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
           norm_num_groups=4, block_out_channels=(8, 8),
           down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2,
           sample_size=16)
UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
            block_out_channels=(16, 16, 32, 32), norm_num_groups=8, cross_attention_dim=16,
            attention_head_dim=4,
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                              'CrossAttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                            'CrossAttnUpBlock2D'))
TEXT = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            max_position_embeddings=77)
CAPTIONS = ['a photo of a red ball on grass', 'a photo of a blue car on a road',
            'a photo of two people on sand', 'a photo of a green tree in the snow'] * 2


def toy_images(n=8, size=16):
    """Coloured squares on flat backgrounds, uint8 (n, 3, size, size)."""
    rng = np.random.default_rng(0)
    images = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        images[i] = rng.integers(0, 256, 3)
        x, y = rng.integers(0, size // 2, 2)
        images[i, y:y + size // 2, x:x + size // 2] = rng.integers(0, 256, 3)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def tiny(tmp_path=None):
    return build_components(unet=UNET, vae=VAE, text_encoder=TEXT,
                            scheduler=DEMO_SCHEDULER_CONFIG, vocabulary=CAPTIONS, num_merges=100,
                            tokenizer_dir=None if tmp_path is None else str(tmp_path / 'tok'),
                            seed=0)


def toy_recipe(vae_steps=2, unet_steps=2, batch_size=4):
    """The toy architecture (VAE, UNET, TEXT) with short stages (warm-up 1 step)."""
    return TinySDRecipe(vae=VAE, unet=UNET, text_encoder=TEXT, num_merges=100,
                        vae_stage=StageConfig(steps=vae_steps, batch_size=batch_size, warmup=1),
                        unet_stage=StageConfig(steps=unet_steps, batch_size=batch_size,
                                               warmup=1))


def latents_of(components, images):
    mean, std = encode_latents(components.vae, images)
    components.vae.register_to_config(scaling_factor=latent_scaling_factor(mean, std))
    return mean, std, tokenize(components.tokenizer, CAPTIONS[:len(images)])


def test_losses_go_down():
    torch.set_num_threads(1)
    images = toy_images()
    comp = tiny()
    vae = train_vae(comp.vae, images, StageConfig(steps=40, batch_size=8, lr=3e-3, warmup=1,
                                                  log_every=100))
    assert np.mean(vae.losses[-5:]) < 0.8 * np.mean(vae.losses[:5])
    assert not any(p.requires_grad for p in comp.vae.parameters())
    mean, std, ids = latents_of(comp, images)
    scaled = mean * comp.vae.config.scaling_factor
    assert 0.5 < float(scaled.std()) < 1.5
    unet = train_unet(comp, mean, std, ids,
                      StageConfig(steps=40, batch_size=8, lr=3e-3, warmup=1, log_every=100),
                      UNetLossConfig(ema_decay=0.0))
    assert np.mean(unet.losses[-10:]) < 0.8 * np.mean(unet.losses[:10])


def test_resume_is_exact(tmp_path):
    torch.set_num_threads(1)
    images = toy_images()
    cfg = StageConfig(steps=6, batch_size=4, lr=1e-3, warmup=2, ckpt_every=3, log_every=100)

    def run(ckpt, max_steps=None, resume=False):
        comp = tiny()
        vae = train_vae(comp.vae, images, cfg, ckpt_path=ckpt + '.vae', resume=resume,
                        max_steps=max_steps)
        comp = tiny()  # the UNet stage always starts from the same VAE
        mean, std, ids = latents_of(comp, images)
        unet = train_unet(comp, mean, std, ids, cfg, UNetLossConfig(ema_decay=0.9),
                          ckpt_path=ckpt + '.unet', resume=resume, max_steps=max_steps)
        return vae, unet, comp

    vae_a, unet_a, comp_a = run(str(tmp_path / 'a'))
    vae_b1, unet_b1, _ = run(str(tmp_path / 'b'), max_steps=3)
    assert (vae_b1.step, unet_b1.step) == (3, 3)
    vae_b2, unet_b2, comp_b = run(str(tmp_path / 'b'), resume=True)
    assert (vae_b2.step, unet_b2.step) == (6, 6)
    assert vae_a.losses == vae_b1.losses + vae_b2.losses
    assert unet_a.losses == unet_b1.losses + unet_b2.losses
    # the shipped weights (EMA) match too
    ref, got = comp_a.unet.state_dict(), comp_b.unet.state_dict()
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    state = load_checkpoint(str(tmp_path / 'b') + '.unet')
    assert state['step'] == 6 and set(state['ema']) == {'unet', 'text_encoder'}


def test_caption_bank_draws_one_true_caption_per_image():
    tokenizer = tiny().tokenizer
    groups = [CAPTIONS[0], [CAPTIONS[1], CAPTIONS[2]], [CAPTIONS[3], CAPTIONS[0], CAPTIONS[1]]]
    bank = CaptionBank.from_captions(tokenizer, groups)
    assert len(bank) == 3 and bank.count.tolist() == [1, 2, 3] and bank.first.tolist() == [0, 1, 3]
    rows = {tuple(r.tolist()): c for c, r in zip(CAPTIONS[:4], tokenize(tokenizer, CAPTIONS[:4]))}
    index = torch.tensor([0, 1, 2] * 40)
    drawn = [rows[tuple(r.tolist())] for r in bank.draw(index, torch.Generator().manual_seed(0))]
    allowed = [{CAPTIONS[0]}, {CAPTIONS[1], CAPTIONS[2]}, {CAPTIONS[3], CAPTIONS[0], CAPTIONS[1]}]
    for i, caption in zip(index.tolist(), drawn):
        assert caption in allowed[i]
    # every alternative is drawn, image 0 always gets its only caption
    for i in (1, 2):
        assert {c for j, c in zip(index.tolist(), drawn) if j == i} == allowed[i]
    # single captions draw no random number: the old training sequence is kept
    single = CaptionBank.from_captions(tokenizer, CAPTIONS[:4])
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    assert torch.equal(single.draw(torch.tensor([3, 0]), gen),
                       tokenize(tokenizer, [CAPTIONS[3], CAPTIONS[0]]))
    assert torch.equal(gen.get_state(), state)
    with pytest.raises(ValueError, match='image 1 has an empty caption list'):
        CaptionBank.from_captions(tokenizer, [CAPTIONS[0], []])


def toy_world(world, n=2):
    """A world folder with a ``pool`` split of ``n`` toy images and their captions."""
    import json

    from PIL import Image
    (world / 'images' / 'pool').mkdir(parents=True)
    (world / 'captions').mkdir()
    lines = []
    for i, image in enumerate(toy_images(n).permute(0, 2, 3, 1).numpy()):
        Image.fromarray(image).save(world / 'images' / 'pool' / f'{i:08d}.png')
        lines.append(json.dumps(dict(image_id=i + 1, file_name=f'images/pool/{i:08d}.png',
                                     caption=CAPTIONS[i], alt_captions=[CAPTIONS[i + 2]])))
    (world / 'captions' / 'pool.jsonl').write_text('\n'.join(lines) + '\n')
    return str(world)


def test_alt_captions_are_read_and_a_resume_keeps_its_tokenizer(tmp_path):
    import json
    world = toy_world(tmp_path / 'world')
    images, captions = load_image_folder_split(str(world))
    assert images.shape == (2, 3, 16, 16) and captions == CAPTIONS[:2]
    _, groups = load_image_folder_split(str(world), alt_captions=True)
    assert groups == [[CAPTIONS[0], CAPTIONS[2]], [CAPTIONS[1], CAPTIONS[3]]]

    tok_dir = tmp_path / 'tok'
    build_components(unet=UNET, vae=VAE, text_encoder=TEXT, vocabulary=CAPTIONS, num_merges=100,
                     tokenizer_dir=str(tok_dir))
    vocab = (tok_dir / 'vocab.json').read_text()
    # other text would learn other merges; a resumed run loads the folder instead
    comp = build_components(unet=UNET, vae=VAE, text_encoder=TEXT, vocabulary=['zebra crossing'],
                            num_merges=100, tokenizer_dir=str(tok_dir), learn_tokenizer=False)
    assert (tok_dir / 'vocab.json').read_text() == vocab
    assert comp.text_encoder.config.vocab_size == len(json.loads(vocab))
    with pytest.raises(FileNotFoundError, match='needs an existing tokenizer folder'):
        build_components(unet=UNET, vae=VAE, text_encoder=TEXT, learn_tokenizer=False,
                         tokenizer_dir=str(tmp_path / 'missing'))


def test_train_tiny_sd_writes_a_loadable_folder(tmp_path):
    from diffusers import StableDiffusionPipeline
    torch.set_num_threads(1)
    recipe = toy_recipe()
    out, work = str(tmp_path / 'model'), str(tmp_path / 'work')
    partial = train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe, max_steps=1)
    assert not partial['finished'] and not osp.exists(out)
    vocab = open(osp.join(work, 'tokenizer', 'vocab.json')).read()
    # resumed with several captions per image (new words among them): the
    # tokenizer the text encoder was trained with is kept
    groups = [[c, 'a photo of a zebra crossing'] for c in CAPTIONS]
    summary = train_tiny_sd(toy_images(), groups, out, work, recipe, resume=True)
    assert summary['finished'] and summary['vae']['step'] == 2 and summary['unet']['step'] == 2
    assert open(osp.join(work, 'tokenizer', 'vocab.json')).read() == vocab
    assert osp.isfile(osp.join(out, 'unet', 'diffusion_pytorch_model.safetensors'))

    with pytest.raises(FileNotFoundError, match='train the VAE stage first'):
        finetune_decoder(toy_images(), str(tmp_path / 'elsewhere'), recipe)
    # the decoder fine-tune (beside the UNet stage) is shipped by the next resume
    recipe.decoder_stage = StageConfig(steps=2, batch_size=4, warmup=1)
    assert finetune_decoder(toy_images(), work, recipe).step == 2
    assert train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe,
                         resume=True)['decoder_finetune_steps'] == 2
    vae_state = load_checkpoint(osp.join(work, 'vae.pth'))['modules']['vae']
    decoder_state = load_checkpoint(osp.join(work, 'vae_decoder.pth'))['modules']['vae']

    comp = load_components(out)
    shipped = comp.vae.state_dict()
    for key, value in shipped.items():
        ref = decoder_state if key.startswith(('decoder.', 'post_quant_conv.')) else vae_state
        assert torch.equal(value, ref[key]), key
    assert not all(torch.equal(vae_state[k], decoder_state[k]) for k in decoder_state)
    assert comp.vae.config.scaling_factor == pytest.approx(summary['scaling_factor'])
    assert type(comp.scheduler).__name__ == 'DPMSolverMultistepScheduler'
    pipe = StableDiffusionPipeline.from_pretrained(out, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    image = pipe('a photo of a red ball', num_inference_steps=2, output_type='np',
                 generator=torch.Generator().manual_seed(0)).images
    assert image.shape == (1, 16, 16, 3) and np.isfinite(image).all()


def test_shipped_demo_world_model():
    from diffusers import StableDiffusionPipeline
    torch.set_num_threads(1)
    size = sum(osp.getsize(osp.join(root, f)) for root, _, files in __import__('os').walk(SHIPPED)
               for f in files if f != 'samples.png')
    assert size <= 25 * 2**20
    comp = load_components(SHIPPED)
    assert comp.vae_scale_factor * comp.unet.config.sample_size == 64
    assert comp.vae.config.scaling_factor != 0.18215  # measured on the world's latents
    pipe = StableDiffusionPipeline.from_pretrained(SHIPPED, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    image = pipe('a photo of a red car on a road', num_inference_steps=4, output_type='np',
                 generator=torch.Generator().manual_seed(0)).images
    assert image.shape == (1, 64, 64, 3) and np.isfinite(image).all()
    assert image.std() > 0.02  # not a flat colour


GROWN_UNET = dict(UNET, down_block_types=('CrossAttnDownBlock2D',) * 4,
                  up_block_types=('CrossAttnUpBlock2D',) * 4)


def test_grow_unet_starts_as_the_trained_unet():
    from diffusers import UNet2DConditionModel

    from projects.tiny_sd.tiny_sd import grow_unet
    torch.manual_seed(0)
    trained = UNet2DConditionModel(**UNET).eval()
    grown = UNet2DConditionModel(**GROWN_UNET).eval()
    new = grow_unet(grown, trained.state_dict())
    # the added blocks: attention at the last down level and the first up level
    assert {k.split('.attentions')[0] for k in new} == {'down_blocks.3', 'up_blocks.0'}
    assert all(not grown.state_dict()[k].any() for k in new if '.proj_out.' in k)
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([10, 900])
    text = torch.randn(2, 5, 16)
    with torch.no_grad():
        assert torch.equal(grown(x, t, text).sample, trained(x, t, text).sample)

    with pytest.raises(ValueError, match='lacks .* trained parameters'):
        grow_unet(UNet2DConditionModel(**UNET), grown.state_dict())
    with pytest.raises(ValueError, match='conv_in.weight has shape .*widths must not change'):
        grow_unet(UNet2DConditionModel(**dict(GROWN_UNET, block_out_channels=(8, 16, 32, 32))),
                  trained.state_dict())


def test_warm_start_grows_a_trained_folder_and_guards_its_resume(tmp_path):
    torch.set_num_threads(1)
    recipe = toy_recipe()
    first = str(tmp_path / 'first')
    assert train_tiny_sd(toy_images(), CAPTIONS, first, str(tmp_path / 'w1'), recipe)['finished']

    grown = TinySDRecipe(unet=GROWN_UNET, init_from=first,
                         unet_stage=StageConfig(steps=2, batch_size=4, warmup=1))
    work, out = str(tmp_path / 'w2'), str(tmp_path / 'second')
    summary = train_tiny_sd(toy_images(), CAPTIONS, out, work, grown)
    assert summary['finished'] and summary['unet']['step'] == 2 and 'vae' not in summary
    assert not osp.exists(osp.join(work, 'vae.pth'))
    before, after = load_components(first), load_components(out)
    assert after.unet.config.down_block_types[-1] == 'CrossAttnDownBlock2D'
    assert before.unet.config.down_block_types[-1] == 'DownBlock2D'
    # the VAE, its latent scaling and the tokenizer are the trained folder's
    assert all(torch.equal(v, after.vae.state_dict()[k])
               for k, v in before.vae.state_dict().items())
    assert after.vae.config.scaling_factor == before.vae.config.scaling_factor
    assert after.tokenizer.get_vocab() == before.tokenizer.get_vocab()
    # the UNet and text encoder trained on from the folder's weights
    for net in ('unet', 'text_encoder'):
        trained, continued = (getattr(c, net).state_dict() for c in (before, after))
        assert set(trained) <= set(continued)
        assert not all(torch.equal(v, continued[k]) for k, v in trained.items()), net

    # more steps may be resumed; another architecture may not
    grown.unet_stage.steps = 3
    assert train_tiny_sd(toy_images(), CAPTIONS, out, work, grown, resume=True)['unet']['step'] == 3
    with pytest.raises(ValueError, match=r'w2/recipe\.json: .* trained with unet='):
        train_tiny_sd(toy_images(), CAPTIONS, out, work,
                      TinySDRecipe(unet=UNET, init_from=first), resume=True)
    with pytest.raises(ValueError, match='trained with init_from='):
        train_tiny_sd(toy_images(), CAPTIONS, out, work,
                      TinySDRecipe(unet=GROWN_UNET, init_from=out), resume=True)


def cli_and_a_trained_folder(tmp_path):
    """``projects/tiny_sd/tools/train_tiny_sd.py``, a 4-image toy world and a folder trained one
    step on it."""
    from tests.tool_module import load_tool
    tool = load_tool('projects/tiny_sd/tools/train_tiny_sd.py')
    world = toy_world(tmp_path / 'world', n=4)
    recipe = toy_recipe(vae_steps=1, unet_steps=1, batch_size=2)
    first = str(tmp_path / 'first')
    train_tiny_sd(toy_images(4), CAPTIONS[:4], first, str(tmp_path / 'w1'), recipe)
    return tool, world, first


def test_train_tiny_sd_cli_grows_a_folder(tmp_path):
    import json

    tool, world, first = cli_and_a_trained_folder(tmp_path)
    out, work = str(tmp_path / 'grown'), str(tmp_path / 'w2')
    common = ['--world', world, '--out', out, '--work-dir', work, '--unet-steps', '2',
              '--batch-size', '2', '--alt-captions']
    tool.main(common + ['--init-from', first, '--lr', '2e-4',
                        '--unet-config', json.dumps(GROWN_UNET)])
    with open(osp.join(work, 'recipe.json')) as f:
        saved = json.load(f)
    assert saved['init_from'] == first and saved['unet_stage']['lr'] == 2e-4
    assert saved['unet']['down_block_types'] == ['CrossAttnDownBlock2D'] * 4
    with open(osp.join(out, 'unet', 'config.json')) as f:
        assert json.load(f)['up_block_types'] == ['CrossAttnUpBlock2D'] * 4

    with pytest.raises(SystemExit, match='--unet-config must be a JSON object'):
        tool.main(common + ['--unet-config', '[1, 2]'])
    with pytest.raises(SystemExit, match='not a diffusers folder'):
        tool.main(common + ['--init-from', str(tmp_path / 'w1')])


V_ZERO_SNR = dict(prediction_type='v_prediction', rescale_betas_zero_snr=True,
                  timestep_spacing='trailing')


def test_training_noise_scheduler_follows_the_shipped_scheduler():
    from diffusers import DPMSolverMultistepScheduler

    from projects.tiny_sd.tiny_sd import SD_SCHEDULE, training_noise_scheduler
    plain = training_noise_scheduler(DPMSolverMultistepScheduler(**SD_SCHEDULE))
    assert plain.config.prediction_type == 'epsilon' and not plain.config.clip_sample
    assert 0.004 < float(plain.alphas_cumprod[-1]) < 0.006  # SD's terminal SNR is not zero
    v_zero = training_noise_scheduler(DPMSolverMultistepScheduler(**SD_SCHEDULE, **V_ZERO_SNR))
    assert v_zero.config.prediction_type == 'v_prediction'
    assert float(v_zero.alphas_cumprod[-1]) == 0.0  # the last step is pure noise
    assert torch.allclose(v_zero.alphas_cumprod[0], plain.alphas_cumprod[0], atol=1e-3)


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
def test_min_snr_loss_is_finite_at_a_zero_terminal_snr(prediction_type):
    from diffusers import DDPMScheduler

    from projects.tiny_sd.tiny_sd import diffusion_loss
    components = tiny()
    # two timesteps: t = 1 has SNR 0
    scheduler = DDPMScheduler(num_train_timesteps=2, rescale_betas_zero_snr=True,
                              prediction_type=prediction_type)
    latents = torch.randn(8, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    ids = tokenize(components.tokenizer, CAPTIONS)
    draws = torch.Generator().manual_seed(0)
    torch.randn(latents.shape, generator=draws)
    assert 1 in torch.randint(2, (8,), generator=draws).tolist()  # the batch holds t = 1
    loss = diffusion_loss(components.unet, components.text_encoder, scheduler, latents, ids,
                          torch.Generator().manual_seed(0), min_snr_gamma=5.0)
    assert torch.isfinite(loss) and loss > 0


def test_cli_trains_a_folder_on_to_another_prediction_type(tmp_path):
    import json

    tool, world, first = cli_and_a_trained_folder(tmp_path)
    out, work = str(tmp_path / 'v'), str(tmp_path / 'w2')
    common = ['--world', world, '--out', out, '--work-dir', work, '--unet-steps', '2',
              '--batch-size', '2', '--init-from', first, '--unet-config', json.dumps(UNET)]
    tool.main(common + ['--scheduler-config', json.dumps(V_ZERO_SNR), '--min-snr-gamma', '0',
                        '--timestep-bias', 'later', '2', '0.5'])
    with open(osp.join(work, 'recipe.json')) as f:
        saved = json.load(f)
    assert saved['unet_loss']['min_snr_gamma'] == 0
    loss = saved['unet_loss']
    assert (loss['timestep_bias_strategy'], loss['timestep_bias_multiplier'],
            loss['timestep_bias_portion']) == ('later', 2.0, 0.5)
    assert {k: saved['scheduler'][k] for k in V_ZERO_SNR} == V_ZERO_SNR
    # the folder ships the scheduler the UNet was trained for; the rest is the first folder's
    shipped = load_components(out).scheduler.config
    assert {k: shipped[k] for k in V_ZERO_SNR} == V_ZERO_SNR
    assert shipped['beta_end'] == load_components(first).scheduler.config['beta_end']
    assert load_components(first).scheduler.config['prediction_type'] == 'epsilon'

    with pytest.raises(ValueError, match=r'w2/recipe\.json: .* trained with scheduler='):
        tool.main(common + ['--resume'])  # the recipe's epsilon scheduler
    with pytest.raises(SystemExit, match='--scheduler-config must be a JSON object'):
        tool.main(common + ['--scheduler-config', '"v_prediction"'])


def test_timestep_bias_draws_the_biased_timesteps_more_often():
    from projects.tiny_sd.tiny_sd import timestep_weights
    assert torch.equal(timestep_weights(4), torch.full((4,), 0.25))
    later = timestep_weights(10, 'later', 3.0, 0.2)
    assert later.sum().item() == pytest.approx(1.0)
    assert torch.allclose(later, torch.tensor([1.] * 8 + [3.] * 2) / 14)
    earlier = timestep_weights(10, 'earlier', 3.0, 0.2)
    assert torch.allclose(earlier, later.flip(0))
    with pytest.raises(ValueError, match="'later' or 'earlier', got 'late'"):
        timestep_weights(10, 'late', 2.0, 0.5)
    with pytest.raises(ValueError, match='0 < portion <= 1'):
        timestep_weights(10, 'later', 2.0, 0.0)
    with pytest.raises(ValueError, match="got 'late'"):  # the config checks itself
        UNetLossConfig(timestep_bias_strategy='late')

    # the loss draws its timesteps from the weights: only the last one here
    from diffusers import DDPMScheduler

    from projects.tiny_sd.tiny_sd import diffusion_loss
    components = tiny()
    seen = []
    unet = components.unet

    def spy(noisy, timesteps, encoder_hidden_states):
        seen.extend(timesteps.tolist())
        return unet(noisy, timesteps, encoder_hidden_states=encoder_hidden_states)
    diffusion_loss(spy, components.text_encoder, DDPMScheduler(num_train_timesteps=10),
                   torch.randn(8, 4, 8, 8), tokenize(components.tokenizer, CAPTIONS),
                   torch.Generator().manual_seed(0),
                   weights=timestep_weights(10, 'later', 1e9, 0.1))
    assert seen == [9] * 8


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
def test_loss_draws_on_the_cpu_and_computes_on_the_latents_device(prediction_type):
    """GPU training: noise, timesteps and ids are drawn by the CPU generator and
    moved to the model's device ('meta' stands in for a GPU here: mixing a CPU
    tensor into its computation raises)."""
    from diffusers import DDPMScheduler

    from projects.tiny_sd.tiny_sd import diffusion_loss, timestep_weights
    components = tiny().to('meta')
    seen = {}
    unet, text_encoder = components.unet, components.text_encoder

    def unet_spy(noisy, timesteps, encoder_hidden_states):
        seen['unet'] = {noisy.device.type, timesteps.device.type,
                        encoder_hidden_states.device.type}
        return unet(noisy, timesteps, encoder_hidden_states=encoder_hidden_states)

    def text_spy(input_ids):
        seen['ids'] = input_ids.device.type
        return text_encoder(input_ids)
    generator = torch.Generator().manual_seed(0)
    for weights in (None, timestep_weights(10, 'later', 3.0, 0.5)):
        loss = diffusion_loss(unet_spy, text_spy,
                              DDPMScheduler(num_train_timesteps=10,
                                            prediction_type=prediction_type),
                              torch.empty(8, 4, 8, 8, device='meta'),
                              tokenize(components.tokenizer, CAPTIONS), generator,
                              min_snr_gamma=5.0, weights=weights)
        assert loss.device.type == 'meta' and loss.shape == ()
        assert seen == dict(unet={'meta'}, ids='meta')
    # the draws came from the CPU generator: 2 calls x (noise + timesteps)
    replay = torch.Generator().manual_seed(0)
    for weights in (None, timestep_weights(10, 'later', 3.0, 0.5)):
        torch.randn(8, 4, 8, 8, generator=replay)
        if weights is None:
            torch.randint(10, (8,), generator=replay)
        else:
            torch.multinomial(weights, 8, replacement=True, generator=replay)
    assert torch.equal(generator.get_state(), replay.get_state())


def test_a_run_stopped_early_exports_its_last_checkpoint(tmp_path):
    torch.set_num_threads(1)
    recipe = toy_recipe(unet_steps=4)
    out, work = str(tmp_path / 'model'), str(tmp_path / 'work')
    train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe, max_steps=1)
    with pytest.raises(ValueError, match=r'work/unet\.pth: it needs resume=True'):
        train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe, export_unfinished=True)
    train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe, resume=True, max_steps=1)
    ckpt = osp.join(work, 'unet.pth')
    state = load_checkpoint(ckpt)
    assert int(state['step']) == 1 and not osp.exists(out)  # VAE done, UNet at 1 of 4

    summary = train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe, resume=True,
                            export_unfinished=True)
    assert summary['exported_unfinished'] and summary['unet']['step'] == 1
    shipped = load_components(out).unet.state_dict()
    for key, value in state['ema']['unet'].items():  # the EMA weights, not the raw ones
        assert torch.equal(shipped[key], value), key
    assert any(not torch.equal(state['ema']['unet'][k], v)
               for k, v in state['modules']['unet'].items())
    assert int(load_checkpoint(ckpt)['step']) == 1  # the checkpoint is untouched
    # and the run still continues to the end of its schedule
    assert train_tiny_sd(toy_images(), CAPTIONS, out, work, recipe,
                         resume=True)['unet']['step'] == 4


def test_export_unfinished_needs_a_finished_vae_and_resume(tmp_path):
    from tests.tool_module import load_tool
    tool = load_tool('projects/tiny_sd/tools/train_tiny_sd.py')
    with pytest.raises(SystemExit, match='--export-unfinished exports .* add --resume'):
        tool.main(['--world', str(tmp_path), '--out', str(tmp_path / 'o'), '--work-dir',
                   str(tmp_path / 'w'), '--export-unfinished'])
    recipe = toy_recipe()
    work = str(tmp_path / 'work')
    train_tiny_sd(toy_images(), CAPTIONS, str(tmp_path / 'm'), work, recipe, max_steps=1)
    torch.save(dict(step=0), osp.join(work, 'unet.pth'))  # a stray UNet checkpoint
    with pytest.raises(RuntimeError, match=r'vae\.pth is unfinished \(step 1/2\): nothing to'):
        train_tiny_sd(toy_images(), CAPTIONS, str(tmp_path / 'm'), work, recipe, resume=True,
                      export_unfinished=True)
