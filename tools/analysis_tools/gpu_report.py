"""What mmdatasetdm costs on a GPU: one command, one JSON report.

    python tools/analysis_tools/gpu_report.py --out gpu_report.json [--work-dir DIR] \
        [--arch sd15] [--size 512] [--batch 8] [--steps 25] [--repeats 3] \
        [--sections env mmcv_ops generation compiled instance pdecoder rehearsal] [--quick]

Each section runs in its own process (one section's memory never counts in another's peak)
and writes its part of the report; a section that fails is recorded with its error and the
others still run. The diffusion model is the published architecture (``--arch``) with random
weights, written once by diffusers' ``save_pretrained`` into the work folder: it costs the
same time and memory as trained weights, and no download is needed.

- ``env``: the GPU, torch / CUDA / diffusers / mmcv versions, whether mmcv has CUDA ops.
- ``mmcv_ops``: multi-scale deformable attention (forward and gradients), RoIAlign and NMS on
  CUDA tensors against the CPU (the CPU kernels; deformable attention has none, so mmcv's
  PyTorch reference).
- ``generation``: diffusers' ``StableDiffusionPipeline`` against generation with capture +
  the semantic P-Decoder + annotation conversion (no disk writes), in alternating runs in one
  process, at ``--size``, ``--dtype``, ``--batch``, ``--steps`` with DPM-Solver++
  (``tools/analysis_tools/benchmark_generation.py``): images/s, the time ratio and the peak
  memory of each; ``compiled``: the same with the UNet under ``torch.compile`` (both sides).
- ``instance``: the same with the instance P-Decoder; projects the GPU-hours of 80 000
  COCO-size images with instance annotations.
- ``pdecoder``: semantic P-Decoder training iterations/s (full-width head, ``--batch``) with
  and without the feature cache (``tools/analysis_tools/benchmark_feature_cache.py``);
  projects the GPU-hours of ``configs/pdecoder/semantic_voc_100.py``'s schedule.
- ``rehearsal``: the semantic chain at ``--size`` on the GPU: P-Decoder, generation through
  ``tools/dist_generate.sh`` with one rank (NCCL), the stock DeepLabV3 mixing config and
  IoUMetric, a few iterations per stage (``tools/analysis_tools/rehearse_real_scale.py``).

``--quick`` is a smoke run anywhere (the tiny SD architecture, 64 px, batch 2, 2 steps, one
repeat, the CPU without CUDA); its figures mean nothing. The targets checked are listed in
``TARGETS``; a missed one is reported with its distance.
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Dict, List

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')
SECTIONS = ('env', 'mmcv_ops', 'generation', 'compiled', 'instance', 'pdecoder', 'rehearsal')
SEMANTIC_DECODER = 'configs/pdecoder/semantic_voc_100.py'
INSTANCE_DECODER = 'configs/pdecoder/instance_coco_800.py'
SCHEDULER = 'DPMSolverMultistepScheduler'  # diffusers' default algorithm: DPM-Solver++
# the projections: COCO-size synthetic sets (the paper adds 80 000 instance images) and the
# semantic P-Decoder's schedule (max_iters x batch_size of semantic_voc_100.py)
PROJECTED_IMAGES = 80_000
# (report key, comparison, bound, what it is)
TARGETS = (
    ('generation.ratio', '<=', 1.05, 'annotated / plain time'),
    ('generation.annotated_img_per_s', '>=', 3.0, 'annotated images/s'),
    ('generation.total_ratio', '<=', 1.10, 'annotated / plain peak memory'),
    ('pdecoder.gpu_hours', '<=', 1.0, 'P-Decoder GPU-hours for its schedule'),
)
QUICK = dict(arch='tiny', size=64, batch=2, steps=2, repeats=1)


# ----------------------------------------------------------------------------- sections
def section_env(args) -> dict:
    import diffusers
    import torch
    info = dict(python=platform.python_version(), torch=torch.__version__,
                torch_cuda=torch.version.cuda, diffusers=diffusers.__version__,
                cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    compute_capability=f'{props.major}.{props.minor}',
                    gpus=torch.cuda.device_count())
    try:
        import mmcv
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version
        info.update(mmcv=mmcv.__version__, mmcv_cuda=get_compiling_cuda_version(),
                    mmcv_compiler=get_compiler_version())
    except ImportError as err:
        info.update(mmcv_error=str(err))
    return info


def _max_diff(a, b) -> float:
    return float((a.detach().float().cpu() - b.detach().float().cpu()).abs().max())


def compare_ops(device: str, seed: int = 0) -> Dict[str, dict]:
    """mmcv's ops on ``device`` against the CPU (see the module docstring).

    Returns:
        dict: per op, the largest absolute difference(s), the tolerance and ``ok``.
    """
    import torch
    from mmcv.ops import nms, roi_align
    from mmcv.ops.multi_scale_deform_attn import (MultiScaleDeformableAttnFunction,
                                                  multi_scale_deformable_attn_pytorch)
    g = torch.Generator().manual_seed(seed)
    out = {}
    # RoIAlign: 4 boxes over 2 images of 16 channels
    feats = torch.randn(2, 16, 32, 32, generator=g)
    xy = torch.rand(4, 2, generator=g) * 80
    wh = torch.rand(4, 2, generator=g) * 40 + 4
    rois = torch.cat([torch.tensor([[0.], [1.], [0.], [1.]]), xy, xy + wh], 1)
    args = ((7, 7), 0.25, 2, 'avg', True)
    ref = roi_align(feats, rois, *args)
    got = roi_align(feats.to(device), rois.to(device), *args)
    diff = _max_diff(ref, got)
    out['roi_align'] = dict(max_abs_diff=diff, atol=1e-4, ok=diff <= 1e-4)
    # NMS: 200 boxes, the same kept indices
    xy = torch.rand(200, 2, generator=g) * 200
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=g) * 60 + 1], 1)
    scores = torch.rand(200, generator=g)
    keep_ref = nms(boxes, scores, 0.5)[1]
    keep_got = nms(boxes.to(device), scores.to(device), 0.5)[1].cpu()
    same = bool(torch.equal(keep_ref, keep_got))
    out['nms'] = dict(kept=len(keep_ref), same_kept=same, ok=same)
    # multi-scale deformable attention: 2 levels, 4 heads, forward and gradients
    shapes = torch.tensor([[8, 8], [4, 4]])
    start = torch.cat([shapes.new_zeros(1), (shapes[:, 0] * shapes[:, 1]).cumsum(0)[:-1]])
    keys, queries, heads, dims, points = int((shapes[:, 0] * shapes[:, 1]).sum()), 10, 4, 8, 4
    value = torch.randn(2, keys, heads, dims, generator=g)
    locs = torch.rand(2, queries, heads, 2, points, 2, generator=g)
    weights = torch.rand(2, queries, heads, 2, points, generator=g)
    weights = weights / weights.sum((-1, -2), keepdim=True)
    tensors = [t.clone().requires_grad_() for t in (value, locs, weights)]
    ref = multi_scale_deformable_attn_pytorch(tensors[0], shapes, tensors[1], tensors[2])
    ref_grads = torch.autograd.grad(ref.sum(), tensors)
    msda = dict(atol=1e-4)
    if torch.device(device).type == 'cuda':
        dev = [t.detach().to(device).requires_grad_() for t in tensors]
        got = MultiScaleDeformableAttnFunction.apply(dev[0], shapes.to(device), start.to(device),
                                                     dev[1], dev[2], 64)
        grads = torch.autograd.grad(got.sum(), dev)
        diff = _max_diff(ref, got)
        grad_diff = max(_max_diff(a, b) for a, b in zip(ref_grads, grads))
        msda.update(max_abs_diff=diff, grad_max_abs_diff=grad_diff,
                    ok=max(diff, grad_diff) <= msda['atol'])
    else:
        msda.update(skipped='the kernel needs a CUDA device; only the reference ran',
                    output_abs_sum=float(ref.detach().abs().sum()), ok=None)
    out['ms_deform_attn'] = msda
    return out


def section_mmcv_ops(args) -> dict:
    return dict(device=args.device, ops=compare_ops(args.device))


def _run(cmd: List[str], log: str) -> float:
    """Run a tool, its output into ``log``; raise with the log's tail if it fails."""
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=_env())
    if proc.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed (exit {proc.returncode}); log {log}:\n'
                           f'{tail}')
    return round(time.time() - start, 1)


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get('PYTHONPATH')) if p))


def _generation(args, decoder: str, compile_unet: bool = False) -> dict:
    out = osp.join(args.work, f'generation_{osp.basename(decoder)}{"_c" if compile_unet else ""}'
                   '.json')
    cmd = [sys.executable, osp.join(TOOLS, 'benchmark_generation.py'), '--model', args.model,
           '--decoder-config', decoder, '--batch', str(args.batch), '--steps', str(args.steps),
           '--size', str(args.size), '--scheduler', SCHEDULER, '--repeats', str(args.repeats),
           '--device', args.device, '--dtype', args.dtype, '--json', out]
    seconds = _run(cmd + (['--compile'] if compile_unet else []), out[:-5] + '.log')
    with open(out) as f:
        result = json.load(f)
    return dict(result, command=' '.join(cmd[1:]), seconds=seconds)


def section_generation(args) -> dict:
    return _generation(args, SEMANTIC_DECODER)


def section_compiled(args) -> dict:
    return _generation(args, SEMANTIC_DECODER, compile_unet=True)


def section_instance(args) -> dict:
    result = _generation(args, INSTANCE_DECODER)
    result['projected_images'] = PROJECTED_IMAGES
    result['gpu_hours'] = round(PROJECTED_IMAGES / result['annotated_img_per_s'] / 3600, 2)
    return result


def pdecoder_schedule(config: str = SEMANTIC_DECODER) -> dict:
    """Iterations and batch size of a P-Decoder config's schedule."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    return dict(config=config, max_iters=cfg.train_cfg.max_iters,
                batch_size=cfg.train_dataloader.batch_size)


def project_pdecoder(iters_per_s: float, batch: int, schedule: dict) -> float:
    """GPU-hours of ``schedule`` (image passes = iterations x its batch) at the measured
    ``iters_per_s`` of batch ``batch``."""
    images_per_s = iters_per_s * batch
    return schedule['max_iters'] * schedule['batch_size'] / images_per_s / 3600


def section_pdecoder(args) -> dict:
    out = osp.join(args.work, 'pdecoder.json')
    images = 2 * args.batch
    cmd = [sys.executable, osp.join(TOOLS, 'benchmark_feature_cache.py'), '--model', args.model,
           '--size', str(args.size), '--batch-size', str(args.batch), '--images', str(images),
           '--epochs', '2' if args.quick else '3', '--full-head', '--dtype', args.dtype,
           '--work-dir', osp.join(args.work, 'pdecoder'), '--json', out]
    seconds = _run(cmd, out[:-5] + '.log')
    with open(out) as f:
        result = json.load(f)
    schedule = pdecoder_schedule()
    hours = {name: round(project_pdecoder(its, args.batch, schedule), 3)
             for name, its in result['iters_per_s'].items()}
    return dict(iters_per_s=result['iters_per_s'], cache_ratio=result['ratio'],
                batch_size=args.batch, images=images, size=args.size, schedule=schedule,
                gpu_hours_by_run=hours, gpu_hours=min(hours.values()),
                command=' '.join(cmd[1:]), seconds=seconds)


def section_rehearsal(args) -> dict:
    out = osp.join(args.work, 'rehearsal.json')
    cmd = [sys.executable, osp.join(TOOLS, 'rehearse_real_scale.py'), '--task', 'semantic',
           '--arch', 'sd15' if args.arch == 'tiny' else args.arch, '--size', str(args.size),
           '--device', args.device, '--dist-ranks', '1', '--model', args.model,
           '--work-dir', osp.join(args.work, 'rehearsal'), '--json', out]
    seconds = _run(cmd, out[:-5] + '.log')
    with open(out) as f:
        report = json.load(f)
    return dict(stages=[dict(stage=r['stage'], seconds=r['seconds'],
                             peak_rss_mib=r['peak_rss_mib']) for r in report['stages']],
                synthetic=report['results']['semantic']['synthetic'],
                metrics=report['results']['semantic']['metrics'], note=report['note'],
                command=' '.join(cmd[1:]), seconds=seconds)


SECTION_FNS = dict(env=section_env, mmcv_ops=section_mmcv_ops, generation=section_generation,
                   compiled=section_compiled, instance=section_instance,
                   pdecoder=section_pdecoder, rehearsal=section_rehearsal)


# ----------------------------------------------------------------------------- report
def _lookup(report: dict, key: str):
    node = report
    for part in key.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_targets(report: dict) -> List[dict]:
    """Each target met or missed, with its distance; ``None`` where its section did not run
    or failed."""
    rows = []
    for key, op, bound, what in TARGETS:
        value = _lookup(report['sections'], key)
        row = dict(target=f'{what} {op} {bound}', key=key, value=value, met=None)
        if isinstance(value, (int, float)):
            row['met'] = value <= bound if op == '<=' else value >= bound
            row['distance'] = round(value - bound, 4)
        rows.append(row)
    return rows


def write_model(args) -> None:
    """The diffusion model, written once into the work folder."""
    if osp.isfile(osp.join(args.model, 'model_index.json')):
        return
    if args.arch == 'tiny':
        _run([sys.executable, '-c', 'import sys; from mmdatasetdm.diffusion import '
              'build_components; build_components(vocabulary=["a photo of a person and a cat"],'
              ' seed=0).save_pretrained(sys.argv[1])', args.model],
             osp.join(args.work, 'model.log'))
    else:
        _run([sys.executable, osp.join(TOOLS, 'rehearse_real_scale.py'), '--write-model',
              args.model, '--arch', args.arch, '--task', 'all'], osp.join(args.work, 'model.log'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='gpu_report.json', help='the JSON report')
    parser.add_argument('--work-dir', help='default: a new temporary folder (removed unless '
                        'a section failed)')
    parser.add_argument('--arch', choices=['sd15', 'sd21', 'tiny'], default='sd15')
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=25)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dtype', default=None, help='default: fp16 on CUDA, fp32 on a CPU')
    parser.add_argument('--device', default=None, help='default: cuda where visible, else cpu')
    parser.add_argument('--sections', nargs='+', choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: ' + ', '.join(f'{k} {v}' for k, v in QUICK.items()))
    parser.add_argument('--section', choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument('--model', help=argparse.SUPPRESS)
    parser.add_argument('--work', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def _device_defaults(args) -> None:
    if args.device is None or args.dtype is None:
        import torch
        cuda = torch.cuda.is_available()
        args.device = args.device or ('cuda' if cuda else 'cpu')
        args.dtype = args.dtype or ('fp16' if args.device.startswith('cuda') else 'fp32')


def run_section(args) -> int:
    """Child process: one section, its result (or error) as JSON into ``<work>/<name>.out``."""
    _device_defaults(args)
    try:
        result = dict(ok=True, **SECTION_FNS[args.section](args))
    except Exception as err:  # recorded in the report; the other sections still run
        result = dict(ok=False, error=f'{type(err).__name__}: {err}',
                      traceback=traceback.format_exc()[-3000:])
    with open(osp.join(args.work, f'{args.section}.out'), 'w') as f:
        json.dump(result, f, indent=1, default=str)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.section:
        return run_section(args)
    work = osp.abspath(args.work_dir) if args.work_dir else tempfile.mkdtemp(
        prefix='mmdatasetdm_gpu_report_')
    os.makedirs(work, exist_ok=True)
    model = osp.join(work, f'stable-diffusion-{args.arch}-random')
    report = dict(command='python tools/analysis_tools/gpu_report.py ' + ' '.join(argv),
                  arch=args.arch, size=args.size, batch=args.batch, steps=args.steps,
                  repeats=args.repeats, scheduler=SCHEDULER, sections={},
                  note='random weights: times and memory are measured, metric values mean '
                  'nothing')
    began = time.time()
    args.model, args.work = model, work
    try:
        write_model(args)
        model_error = None
    except RuntimeError as err:
        model_error = str(err)
    for name in args.sections:
        print(f'[{time.strftime("%H:%M:%S")}] {name} ...', flush=True)
        if model_error and name not in ('env', 'mmcv_ops'):
            report['sections'][name] = dict(ok=False, error=f'no model: {model_error}')
            continue
        cmd = [sys.executable, __file__, *argv, '--section', name, '--model', model,
               '--work', work]
        proc = subprocess.run(cmd, cwd=ROOT, env=_env())
        path = osp.join(work, f'{name}.out')
        if osp.isfile(path):
            with open(path) as f:
                report['sections'][name] = json.load(f)
            os.remove(path)
        else:
            report['sections'][name] = dict(
                ok=False, error=f'the section process exited with {proc.returncode} and wrote '
                'nothing')
        status = 'ok' if report['sections'][name]['ok'] else \
            'FAILED: ' + report['sections'][name]['error'].splitlines()[0]
        print(f'    {status}', flush=True)
    report['seconds'] = round(time.time() - began, 1)
    report['targets'] = check_targets(report)
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=1, default=str)
    print_report(report)
    failed = [n for n, s in report['sections'].items() if not s['ok']]
    if failed:
        print(f'sections failed: {failed}; their logs are in {work}', file=sys.stderr)
    elif not args.work_dir:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def print_report(report: dict) -> None:
    sections = report['sections']
    env = sections.get('env', {})
    print(f'\n{env.get("gpu", "no GPU")}, torch {env.get("torch")}, CUDA {env.get("torch_cuda")}'
          f', diffusers {env.get("diffusers")}, mmcv {env.get("mmcv")} '
          f'(ops compiled with CUDA {env.get("mmcv_cuda")})')
    for name, r in sections.get('mmcv_ops', {}).get('ops', {}).items():
        print(f'mmcv {name}: {"agrees" if r["ok"] else "skipped" if r["ok"] is None else "DIFFERS"}'
              f' {json.dumps({k: v for k, v in r.items() if k != "ok"})}')
    for name in ('generation', 'compiled', 'instance'):
        r = sections.get(name, {})
        if r.get('ok'):
            print(f'{name} ({r["task"]}, {r["dtype"]}, batch {r["batch"]}, {r["steps"]} steps, '
                  f'{r["size"]} px): plain {r["plain_img_per_s"]} img/s, annotated '
                  f'{r["annotated_img_per_s"]} img/s, time ratio {r["ratio"]}; peak '
                  f'{r["plain_total_mib"]} / {r["annotated_total_mib"]} MiB '
                  f'(ratio {r["total_ratio"]})' + (f'; {r["projected_images"]} images: '
                                                   f'{r["gpu_hours"]} GPU-hours'
                                                   if 'gpu_hours' in r else ''))
    r = sections.get('pdecoder', {})
    if r.get('ok'):
        print(f'P-Decoder training (batch {r["batch_size"]}): {r["iters_per_s"]} iterations/s; '
              f'{r["schedule"]["config"]} ({r["schedule"]["max_iters"]} iterations at batch '
              f'{r["schedule"]["batch_size"]}): {r["gpu_hours_by_run"]} GPU-hours')
    r = sections.get('rehearsal', {})
    if r.get('ok'):
        print('rehearsal: ' + ', '.join(f'{s["stage"]} {s["seconds"]} s' for s in r['stages']))
    for t in report['targets']:
        state = {True: 'met', False: 'MISSED', None: 'not measured'}[t['met']]
        print(f'target {t["target"]}: {state}' + (
            f' ({t["value"]}, distance {t["distance"]})' if t['met'] is not None else ''))
    print(f'NOTE: {report["note"]}')


if __name__ == '__main__':
    sys.exit(main())
