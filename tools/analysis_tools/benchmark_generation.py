"""Generation with annotations vs diffusers' plain sampling, same model and settings.

    python tools/analysis_tools/benchmark_generation.py --model DIFFUSERS_FOLDER \
        --decoder-config configs/pdecoder/semantic_tiny.py [--checkpoint CKPT] \
        [--batch 4] [--steps 20] [--scheduler DDIMScheduler] [--guidance 7.5] \
        [--repeats 3] [--device cpu|cuda] [--dtype fp32|fp16] [--size 512] [--compile] \
        [--json OUT]

One process, the same prompts, seeds, scheduler, steps and batch; runs alternate
(plain, annotated, plain, ...) after one warm-up each. "plain" is
``StableDiffusionPipeline.__call__``; "annotated" is :class:`CaptureSampler`
(the same pipeline call with feature capture armed) + the P-Decoder's decoding +
the conversion to annotations (no disk writes). Prints the median time of each,
the ratio, images/s, and the peak memory of each (CUDA: ``max_memory_allocated``;
CPU: sampled RSS) above the level before the run and in all (the model weights
included, less the P-Decoder's own weights on the plain side; ``total_ratio``
compares these). Without ``--checkpoint``
the decoder has random weights (same cost as a trained one).
"""
import argparse
import json
import statistics
import tempfile
import threading
import time
from itertools import chain

import psutil
import torch
from mmengine.runner import save_checkpoint

from mmdatasetdm.diffusion import CaptureSampler, SamplingConfig
from mmdatasetdm.generation.annotations import ANNOTATORS, FilterConfig
from mmdatasetdm.generation.decoder import PerceptionDecoder


class PeakMemory:
    """Peak memory above the level at entry (``peak``) and in all (``total``, model weights
    included), from the CUDA allocator or a sampled RSS."""

    def __init__(self, device: str):
        self.cuda = device.startswith('cuda')
        self.peak = self.total = 0

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.proc = psutil.Process()
            self.base = self.proc.memory_info().rss
            self.top = self.base
            self.running = True
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()
        return self

    def _watch(self):
        while self.running:
            self.top = max(self.top, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
            self.total = torch.cuda.max_memory_allocated()
        else:
            self.running = False
            self.thread.join()
            self.total = self.top
        self.peak = self.total - self.base


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', required=True, help='diffusers folder')
    parser.add_argument('--decoder-config', required=True)
    parser.add_argument('--checkpoint', help='P-Decoder checkpoint (default: random weights)')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--size', type=int, help='image side (default: the UNet\'s)')
    parser.add_argument('--scheduler', default='DDIMScheduler')
    parser.add_argument('--guidance', type=float, default=7.5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', default='fp32')
    parser.add_argument('--prompt', default='a photo of a person')
    parser.add_argument('--word', default='person',
                        help='the prompt word whose cross-attention the annotation reads')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the UNet (one module, so both sides)')
    parser.add_argument('--json', help='also write the result to this file')
    return parser.parse_args(argv)


def random_checkpoint(config: str, overrides: dict) -> str:
    """A P-Decoder checkpoint with random weights (same cost as a trained one)."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(overrides)
    init_default_scope(cfg.get('default_scope', 'mmdatasetdm'))
    checkpoint = tempfile.mktemp(suffix='.pth')
    save_checkpoint(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}), checkpoint)
    return checkpoint


def measure(args) -> dict:
    """Alternating plain / annotated runs; see the module docstring."""
    overrides = {'model.backbone.pretrained': args.model, 'model.backbone.dtype': args.dtype}
    checkpoint = args.checkpoint or random_checkpoint(args.decoder_config, overrides)
    decoder = PerceptionDecoder(args.decoder_config, checkpoint, cfg_options=overrides,
                                device=args.device)
    components = decoder.backbone.components
    sampling = SamplingConfig(steps=args.steps, guidance_scale=args.guidance,
                              scheduler=dict(type=args.scheduler), height=args.size,
                              width=args.size)
    sampler = CaptureSampler(components, decoder.backbone.extractor.capture, sampling)
    plain = sampler.pipeline  # the same StableDiffusionPipeline object and scheduler
    if args.compile:
        plain.unet = torch.compile(plain.unet)
    prompts = [args.prompt] * args.batch
    seeds = list(range(args.batch))
    annotate = ANNOTATORS[decoder.task]
    filters = FilterConfig()

    def run_plain():
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        plain(prompts, num_inference_steps=args.steps, guidance_scale=args.guidance,
              height=args.size, width=args.size, generator=gens, output_type='np')

    def run_annotated():
        batch = sampler(prompts, seeds, words=[[args.word]] * args.batch)
        for pred in decoder(batch):
            annotate(pred, [], filters)

    def timed(fn):
        with PeakMemory(args.device) as mem:
            start = time.perf_counter()
            fn()
            if args.device.startswith('cuda'):
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
        return elapsed, (mem.peak, mem.total)

    timed(run_plain), timed(run_annotated)  # warm-up
    times = dict(plain=[], annotated=[])
    peaks = dict(plain=[], annotated=[])
    for _ in range(args.repeats):
        for name, fn in (('plain', run_plain), ('annotated', run_annotated)):
            t, p = timed(fn)
            times[name].append(t)
            peaks[name].append(p)
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = {k: max(p for p, _ in v) / 2**20 for k, v in peaks.items()}
    total = {k: max(t for _, t in v) / 2**20 for k, v in peaks.items()}
    # the plain side's total leaves out the decoder's own weights: a plain pipeline has none
    head = sum(t.numel() * t.element_size() for n, t in chain(
        decoder.model.named_parameters(), decoder.model.named_buffers())
        if not n.startswith('backbone.')) / 2**20
    total['plain'] -= head
    return dict(
        device=torch.cuda.get_device_name(args.device) if args.device.startswith('cuda')
        else 'cpu', dtype=args.dtype, batch=args.batch, steps=args.steps,
        size=args.size or components.unet.config.sample_size * components.vae_scale_factor,
        scheduler=args.scheduler, guidance=args.guidance, task=decoder.task, compile=args.compile,
        plain_s=round(med['plain'], 6), annotated_s=round(med['annotated'], 6),
        ratio=round(med['annotated'] / med['plain'], 4),
        plain_img_per_s=round(args.batch / med['plain'], 3),
        annotated_img_per_s=round(args.batch / med['annotated'], 3),
        plain_peak_mib=round(peak['plain'], 1), annotated_peak_mib=round(peak['annotated'], 1),
        decoder_weights_mib=round(head, 1), plain_total_mib=round(total['plain'], 1),
        annotated_total_mib=round(total['annotated'], 1),
        total_ratio=round(total['annotated'] / total['plain'], 4),
        runs=dict(plain=[round(t, 6) for t in times['plain']],
                  annotated=[round(t, 6) for t in times['annotated']]))


def main(argv=None):
    args = parse_args(argv)
    result = measure(args)
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
