"""Peak memory and feature shapes of diffusion inversion with and without capture.

Builds a UNet with the full SD-1.5 configuration (random weights; no download)
and runs one inversion pass at the given image size, either through
:class:`~mmdatasetdm.diffusion.DiffusionFeatureExtractor` (capture on) or as a
plain UNet call (capture off). Prints one JSON line: the captured shapes and
the process's peak resident memory. Run it twice to compare:

    python tools/analysis_tools/benchmark_capture_memory.py --capture on
    python tools/analysis_tools/benchmark_capture_memory.py --capture off
"""
import argparse
import json
import resource
import time

import torch

from mmdatasetdm.diffusion import DiffusionFeatureExtractor, build_components
from mmdatasetdm.diffusion.text import PromptEncoder

SD15_UNET = dict(
    sample_size=64, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    norm_num_groups=32, cross_attention_dim=768, attention_head_dim=8,
    down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                      'DownBlock2D'),
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                    'CrossAttnUpBlock2D'))
# A one-layer text encoder of SD-1.5's width (the UNet only sees its output width).
SD15_WIDTH_TEXT_ENCODER = dict(hidden_size=768, intermediate_size=1024, num_hidden_layers=1,
                               num_attention_heads=12)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--capture', choices=['on', 'off'], default='on')
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    components = build_components(unet=SD15_UNET, text_encoder=SD15_WIDTH_TEXT_ENCODER,
                                  vocabulary=['a photo of a person'])
    images = torch.rand(1, 3, args.size, args.size) * 2 - 1
    prompts = ['a photo of a person']
    baseline = peak_rss_mib()
    start = time.perf_counter()
    result = dict(capture=args.capture, size=args.size,
                  unet_parameters=sum(p.numel() for p in components.unet.parameters()))
    if args.capture == 'on':
        with DiffusionFeatureExtractor(components) as extractor:
            pyramid = extractor.invert(images, prompts, words=[['person']])
        result['levels'] = [[lv.name, lv.stride, *lv.features.shape[1:]] for lv in pyramid.levels]
        result['attention'] = {s: list(a.shape[1:]) for s, a in pyramid.attention.items()}
        result['captured_mib'] = round(sum(
            t.numel() * t.element_size() for t in
            [lv.features for lv in pyramid.levels] + list(pyramid.attention.values())) / 2**20, 2)
    else:
        with torch.no_grad():
            extractor = DiffusionFeatureExtractor(components)
            latents = extractor.encode_images(images)
            extractor.close()  # plain processors, no hooks
            embeds = PromptEncoder(components.tokenizer, components.text_encoder)(prompts)
            components.unet(latents, torch.tensor([1]), encoder_hidden_states=embeds)
    result['seconds'] = round(time.perf_counter() - start, 2)
    result['rss_before_pass_mib'] = round(baseline, 1)
    result['peak_rss_mib'] = round(peak_rss_mib(), 1)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
