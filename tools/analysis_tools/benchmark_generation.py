"""Generation with annotations vs diffusers' plain sampling, same model and settings.

    python tools/analysis_tools/benchmark_generation.py --model DIFFUSERS_FOLDER \
        --decoder-config configs/pdecoder/semantic_tiny.py [--checkpoint CKPT] \
        [--batch 4] [--steps 20] [--scheduler DDIMScheduler] [--guidance 7.5] \
        [--repeats 3] [--device cpu|cuda] [--dtype fp32|fp16]

One process, the same prompts, seeds, scheduler, steps and batch; runs alternate
(plain, annotated, plain, ...) after one warm-up each. "plain" is
``StableDiffusionPipeline.__call__``; "annotated" is :class:`CaptureSampler`
(the same pipeline call with feature capture armed) + the P-Decoder's decoding +
the conversion to annotations (no disk writes). Prints the median time of each,
the ratio, images/s and the peak memory above the baseline of each (CUDA:
``max_memory_allocated``; CPU: sampled RSS). Without ``--checkpoint`` the
decoder has random weights (same cost as a trained one).
"""
import argparse
import json
import statistics
import tempfile
import threading
import time

import psutil
import torch
from mmengine.runner import save_checkpoint

from mmdatasetdm.diffusion import CaptureSampler, SamplingConfig
from mmdatasetdm.generation.annotations import ANNOTATORS, FilterConfig
from mmdatasetdm.generation.decoder import PerceptionDecoder


class PeakMemory:
    """Peak memory above the level at entry (CUDA allocator, or sampled RSS)."""

    def __init__(self, device: str):
        self.cuda = device.startswith('cuda')
        self.peak = 0

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
            self.peak = torch.cuda.max_memory_allocated() - self.base
        else:
            self.running = False
            self.thread.join()
            self.peak = self.top - self.base


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', required=True, help='diffusers folder')
    parser.add_argument('--decoder-config', required=True)
    parser.add_argument('--checkpoint', help='P-Decoder checkpoint (default: random weights)')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--scheduler', default='DDIMScheduler')
    parser.add_argument('--guidance', type=float, default=7.5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', default='fp32')
    parser.add_argument('--prompt', default='a photo of a person')
    return parser.parse_args()


def main():
    args = parse_args()
    overrides = {'model.backbone.pretrained': args.model, 'model.backbone.dtype': args.dtype}
    checkpoint = args.checkpoint
    if checkpoint is None:
        from mmengine.config import Config
        from mmengine.registry import MODELS, init_default_scope
        cfg = Config.fromfile(args.decoder_config)
        cfg.merge_from_dict(overrides)
        init_default_scope(cfg.get('default_scope', 'mmdatasetdm'))
        checkpoint = tempfile.mktemp(suffix='.pth')
        save_checkpoint(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}), checkpoint)
    decoder = PerceptionDecoder(args.decoder_config, checkpoint, cfg_options=overrides,
                                device=args.device)
    components = decoder.backbone.components
    sampling = SamplingConfig(steps=args.steps, guidance_scale=args.guidance,
                              scheduler=dict(type=args.scheduler))
    sampler = CaptureSampler(components, decoder.backbone.extractor.capture, sampling)
    plain = sampler.pipeline  # the same StableDiffusionPipeline object and scheduler
    prompts = [args.prompt] * args.batch
    seeds = list(range(args.batch))
    annotate = ANNOTATORS[decoder.task]
    filters = FilterConfig()

    def run_plain():
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        plain(prompts, num_inference_steps=args.steps, guidance_scale=args.guidance,
              generator=gens, output_type='np')

    def run_annotated():
        batch = sampler(prompts, seeds, words=[['person']] * args.batch)
        for pred in decoder(batch):
            annotate(pred, [], filters)

    def timed(fn):
        with PeakMemory(args.device) as mem:
            start = time.perf_counter()
            fn()
            if args.device.startswith('cuda'):
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
        return elapsed, mem.peak

    timed(run_plain), timed(run_annotated)  # warm-up
    times = dict(plain=[], annotated=[])
    peaks = dict(plain=[], annotated=[])
    for _ in range(args.repeats):
        for name, fn in (('plain', run_plain), ('annotated', run_annotated)):
            t, p = timed(fn)
            times[name].append(t)
            peaks[name].append(p)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = dict(
        device=args.device, dtype=args.dtype, batch=args.batch, steps=args.steps,
        scheduler=args.scheduler, guidance=args.guidance, task=decoder.task,
        plain_s=round(med['plain'], 4), annotated_s=round(med['annotated'], 4),
        ratio=round(med['annotated'] / med['plain'], 4),
        plain_img_per_s=round(args.batch / med['plain'], 3),
        annotated_img_per_s=round(args.batch / med['annotated'], 3),
        plain_peak_mib=round(max(peaks['plain']) / 2**20, 1),
        annotated_peak_mib=round(max(peaks['annotated']) / 2**20, 1),
        runs=dict(plain=[round(t, 4) for t in times['plain']],
                  annotated=[round(t, 4) for t in times['annotated']]))
    print(json.dumps(result, indent=1))


if __name__ == '__main__':
    main()
