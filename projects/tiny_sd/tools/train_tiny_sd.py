"""Train the tiny Stable-Diffusion-architecture model on a world's unlabelled pool.

Example::

    python projects/demo_world/tools/make_demo_world.py --out data/demo_world --seed 0 \\
        --pool 5000 --splits pool
    python projects/tiny_sd/tools/train_tiny_sd.py --world data/demo_world \\
        --out checkpoints/demo-world-sd \\
        --work-dir work_dirs/tiny_sd
    # interrupted? the same command with --resume continues where it stopped
    python projects/tiny_sd/tools/train_tiny_sd.py --world data/demo_world \\
        --out checkpoints/demo-world-sd \\
        --work-dir work_dirs/tiny_sd --resume
    # optional, beside the UNet stage: sharpen the decoder (encoder frozen); the
    # --resume command above, run after both finish, ships the sharper decoder
    python projects/tiny_sd/tools/train_tiny_sd.py --world data/demo_world \\
        --out checkpoints/demo-world-sd \\
        --work-dir work_dirs/tiny_sd --stage decoder --resume

    # continue a trained model with a grown UNet (here: cross-attention at the
    # 32x32 latent level too; the new blocks start as the identity)
    python projects/tiny_sd/tools/train_tiny_sd.py --world data/demo_world \
        --out work_dirs/tiny_sd_xattn/export \
        --work-dir work_dirs/tiny_sd_xattn --alt-captions --unet-steps 2000 \
        --init-from checkpoints/demo-world-sd --unet-config '{"down_block_types": \
        ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], \
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], \
        "only_cross_attention": [true, false, false]}'

The recipe (model sizes, losses, schedules) is
:class:`projects.tiny_sd.tiny_sd.TinySDRecipe`; the flags below
override its step counts, batch sizes, learning rate and intervals, its UNet
architecture, its noise schedule, prediction type and loss weighting, and its
starting point. A resume must keep the architecture.
"""
import argparse
import json
import logging
import os.path as osp
import sys
from dataclasses import replace

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--world', required=True, help='world root (images/, captions/)')
    parser.add_argument('--split', default='pool', help='split to train on (default: pool)')
    parser.add_argument('--out', required=True, help='diffusers folder to write')
    parser.add_argument('--work-dir', required=True, help='checkpoints and log')
    parser.add_argument('--vae-steps', type=int, help='VAE optimiser steps')
    parser.add_argument('--unet-steps', type=int, help='UNet optimiser steps')
    parser.add_argument('--decoder-steps', type=int,
                        help='steps of the optional decoder fine-tune (--stage decoder)')
    parser.add_argument('--stage', choices=('all', 'decoder'), default='all',
                        help="'decoder': fine-tune the trained VAE's decoder only (can run beside "
                             'the UNet stage; the next --resume run ships it)')
    parser.add_argument('--batch-size', type=int, help='batch size of both stages')
    parser.add_argument('--lr', type=float, help='peak learning rate of the UNet stage')
    parser.add_argument('--unet-config', type=json.loads, metavar='JSON',
                        help='UNet2DConditionModel arguments (a JSON object) that replace the '
                             "recipe's, e.g. '{\"only_cross_attention\": true}'")
    parser.add_argument('--scheduler-config', type=json.loads, metavar='JSON',
                        help="scheduler arguments (a JSON object) that replace the recipe's; the "
                             'UNet is trained for its noise schedule and prediction type, e.g. '
                             '\'{"prediction_type": "v_prediction", "rescale_betas_zero_snr": '
                             'true, "timestep_spacing": "trailing"}\'')
    parser.add_argument('--min-snr-gamma', type=float,
                        help='Min-SNR loss weighting gamma of the UNet stage (0: plain MSE)')
    parser.add_argument('--timestep-bias', nargs=3, metavar=('STRATEGY', 'MULTIPLIER', 'PORTION'),
                        help="draw some training timesteps more often, e.g. 'later 2 0.5' (the "
                             'noisier half twice as often; see UNetLossConfig)')
    parser.add_argument('--init-from', metavar='FOLDER',
                        help='continue from a trained diffusers folder: its VAE, tokenizer and '
                             'text encoder, and its UNet weights loaded into the (possibly '
                             'grown) recipe UNet; the VAE stage is skipped')
    parser.add_argument('--ckpt-every', type=int, help='checkpoint interval (steps)')
    parser.add_argument('--log-every', type=int, help='log interval (steps)')
    parser.add_argument('--limit', type=int, help='use only the first N images')
    parser.add_argument('--device', help="where to train, e.g. 'cuda' or 'cuda:1' (default: "
                        "'cuda' when a GPU is visible, else 'cpu'); the random draws do not "
                        'depend on it, so a run can resume on another device')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (1 is fastest on a shared machine)')
    parser.add_argument('--alt-captions', action='store_true',
                        help='train on a random one of each image\'s captions (its "caption" and '
                             '"alt_captions") instead of the main caption only')
    parser.add_argument('--resume', action='store_true',
                        help="continue from --work-dir's checkpoints")
    parser.add_argument('--export-unfinished', action='store_true',
                        help="with --resume: train no further and write --out from --work-dir's "
                             'last UNet checkpoint (its EMA weights), e.g. for a run stopped at '
                             'a time limit; a later --resume still continues it')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from projects.tiny_sd.tiny_sd import (TinySDRecipe, finetune_decoder, load_image_folder_split,
                                          train_tiny_sd)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s', stream=sys.stdout,
                        force=True)
    recipe = TinySDRecipe()
    for stage, steps in ((recipe.vae_stage, args.vae_steps), (recipe.unet_stage, args.unet_steps),
                         (recipe.decoder_stage, args.decoder_steps)):
        if steps is not None:
            stage.steps = steps
        for name in ('batch_size', 'ckpt_every', 'log_every'):
            if getattr(args, name) is not None:
                setattr(stage, name, getattr(args, name))
    if args.lr is not None:
        recipe.unet_stage.lr = args.lr
    for flag, overrides, config in (('--unet-config', args.unet_config, recipe.unet),
                                    ('--scheduler-config', args.scheduler_config,
                                     recipe.scheduler)):
        if overrides is not None:
            if not isinstance(overrides, dict):
                raise SystemExit(f'{flag} must be a JSON object, got {overrides!r}')
            config.update(overrides)
    if args.min_snr_gamma is not None:
        recipe.unet_loss.min_snr_gamma = args.min_snr_gamma
    if args.timestep_bias is not None:
        strategy, multiplier, portion = args.timestep_bias
        try:
            multiplier, portion = float(multiplier), float(portion)
        except ValueError:
            raise SystemExit(f'--timestep-bias {" ".join(args.timestep_bias)}: MULTIPLIER and '
                             'PORTION must be numbers')
        try:  # the config checks itself: fail now, not after the latents are encoded
            recipe.unet_loss = replace(recipe.unet_loss, timestep_bias_strategy=strategy,
                                       timestep_bias_multiplier=multiplier,
                                       timestep_bias_portion=portion)
        except ValueError as error:
            raise SystemExit(f'--timestep-bias: {error}')
    if args.init_from is not None:
        if not osp.isfile(osp.join(args.init_from, 'model_index.json')):
            raise SystemExit(f'--init-from {args.init_from}: not a diffusers folder '
                             '(no model_index.json)')
        recipe.init_from = args.init_from
    if args.export_unfinished and not args.resume:
        raise SystemExit('--export-unfinished exports the checkpoints of --work-dir: add --resume')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise SystemExit(f'--device {device}: {error}')
    logging.info('training on %s', device)
    images, captions = load_image_folder_split(args.world, args.split, args.limit,
                                               alt_captions=args.alt_captions)
    logging.info('%d images %s from %s', len(images), tuple(images.shape[1:]),
                 osp.join(args.world, 'images', args.split))
    if args.stage == 'decoder':
        result = finetune_decoder(images, args.work_dir, recipe, resume=args.resume,
                                  device=device)
        print(json.dumps(dict(decoder_step=result.step, seconds=round(result.seconds, 1))))
        return
    summary = train_tiny_sd(images, captions, args.out, args.work_dir, recipe,
                            resume=args.resume, device=device,
                            export_unfinished=args.export_unfinished)
    print(json.dumps(summary, indent=2))


if __name__ == '__main__':
    main()
