"""Rehearse the real-data chain with Stable Diffusion's real architecture, offline.

    python tools/analysis_tools/rehearse_real_scale.py --task semantic|instance|pose|depth|all \
        [--arch sd15|sd21] [--size 128] [--iters 2] [--num 4] [--steps 2] [--no-dist] \
        [--dist-ranks 2] [--device cpu|cuda] [--model DIFFUSERS_FOLDER] \
        [--work-dir DIR] [--keep] [--json OUT]

What a user with an SD-1.5 folder and VOC/COCO/NYU on disk runs, with nothing from the
internet:

1. ``model``: a diffusers folder with the published architecture (``--arch``: SD-1.5's 860 M
   UNet, VAE and CLIP ViT-L text encoder; SD-2.1's v-prediction model with the OpenCLIP-H width)
   and random weights, written by ``save_pretrained`` into the work folder (a temporary folder
   unless ``--work-dir``; never the repository);
2. ``data``: a small demo world (``projects/demo_world/tools/make_demo_world.py``) written in
   the real dataset's on-disk layout (``projects/demo_world/tools/write_real_layouts.py``:
   VOC2012, COCO 2017 or mmseg's NYU), upscaled to ``--size``;
3. ``fewshot``: ``tools/dataset_converters/make_fewshot_split.py`` writes the few-shot split the
   configs name (``train_100.txt``, ``*_train2017_800.json``, ``train_50/``);
4. ``pdecoder``: ``tools/train.py configs/pdecoder/<setting>.py``;
5. ``generate``: ``tools/generate.py configs/generate/<setting>.py``, and ``generate_dist``:
   the same through ``tools/dist_generate.sh`` with ``--dist-ranks`` ranks (2);
6. ``downstream``: ``tools/train.py configs/<setting>_synth_*.py`` (the stock DeepLabV3, Mask
   R-CNN, HRNet; depth: see below) on the few-shot split + the generated set;
7. ``test``: ``tools/test.py`` with the stock metric.

Each training and generation stage runs the repository's own config with the changes this
machine needs, saved beside the run as ``<stage>.py`` and listed in the report: paths, image
size, iteration counts, no dataloader workers, and for the downstream models what a CPU without
internet cannot do (SyncBN -> BN, no ImageNet initialisation; the stock VPD depth model needs
the ``ldm`` package and SD weights, so the depth rehearsal trains the demo's small
DepthEstimator on the stock config's data). Filters accept every sample: random weights label
nothing meaningful. **The metric values of this rehearsal mean nothing**; its times and peak
memory (resident set of the largest process of each stage) are what it measures.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TASKS = ('semantic', 'instance', 'pose', 'depth')
RANDOM_WEIGHTS = ('the diffusion model and every network start from random weights: the metric '
                  'values of this rehearsal mean nothing; the times and peak memory are measured')

# Per setting: the real layout, the configs a user runs, and the few-shot split they name.
SETTINGS = {
    'semantic': dict(layout='voc', pdecoder='configs/pdecoder/semantic_voc_100.py',
                     generate='configs/generate/voc_semantic.py',
                     downstream='configs/voc_synth_100.py', data='VOCdevkit/VOC2012'),
    'instance': dict(layout='coco', pdecoder='configs/pdecoder/instance_coco_800.py',
                     generate='configs/generate/coco_instance.py',
                     downstream='configs/coco_inst_synth_800.py', data='coco'),
    'pose': dict(layout='coco', pdecoder='configs/pdecoder/pose_coco_800.py',
                 generate='configs/generate/coco_pose.py',
                 downstream='configs/coco_pose_synth_800.py', data='coco'),
    'depth': dict(layout='nyu', pdecoder='configs/pdecoder/depth_nyu_50.py',
                  generate='configs/generate/nyu_depth.py',
                  downstream='configs/nyu_depth_synth_50.py', data='nyu'),
}
# Per setting: image side and P-Decoder iterations when not given. Mask2Former's instance
# head predicts no mask at all in its first tens of iterations (every sample would be
# rejected as too small): 100 iterations at 64 px are the cheapest that give instances here.
DEFAULT_SIZE = dict(semantic=128, instance=64, pose=128, depth=128)
DEFAULT_PDECODER_ITERS = dict(semantic=2, instance=100, pose=2, depth=2)
# every sample is kept: a P-Decoder with random weights is not confident about anything
ACCEPT_ALL = dict(min_confidence=0.0, max_ignore_fraction=1.0, min_class_fraction=0.0,
                  min_score=0.0, min_area=0, min_keypoint_score=0.0, require_prompted=False)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=TASKS + ('all', ), default='semantic')
    parser.add_argument('--arch', choices=['sd15', 'sd21'], default='sd15')
    parser.add_argument('--size', type=int,
                        help='image side, a multiple of 64 (the UNet size divisor); default '
                        f'{DEFAULT_SIZE}')
    parser.add_argument('--iters', type=int, default=2,
                        help='training iterations of the downstream model')
    parser.add_argument('--pdecoder-iters', type=int,
                        help='training iterations of the P-Decoder; default '
                        f'{DEFAULT_PDECODER_ITERS}')
    parser.add_argument('--num', type=int, default=4, help='synthetic samples to generate')
    parser.add_argument('--steps', type=int, default=2, help='sampling steps')
    parser.add_argument('--train-images', type=int, default=8,
                        help='labelled images of the world (the few-shot pool)')
    parser.add_argument('--test-images', type=int, default=2)
    parser.add_argument('--no-dist', action='store_true', help='skip the multi-rank generation')
    parser.add_argument('--dist-ranks', type=int, default=2,
                        help='ranks of the tools/dist_generate.sh run (NCCL on GPUs, else gloo)')
    parser.add_argument('--device', default='cpu',
                        help='where generation runs (cpu, cuda); training follows mmengine '
                        '(a visible GPU is used)')
    parser.add_argument('--work-dir', help='where to write (default: a new temporary folder)')
    parser.add_argument('--model', help='a diffusers folder to use instead of writing one '
                        '(no "model" stage)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary folder (always kept with --work-dir or after '
                        'a failure)')
    parser.add_argument('--json', help='write the stage measurements to this file')
    # the stages this tool runs itself, each in its own process (measured like the others)
    parser.add_argument('--write-model', metavar='DIR', help=argparse.SUPPRESS)
    parser.add_argument('--check-generated', nargs='+', metavar='DIR', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dist_ranks < 1:
        parser.error(f'--dist-ranks must be >= 1, got {args.dist_ranks}')
    if args.size is not None and (args.size <= 0 or args.size % 64):
        parser.error(f'--size must be a multiple of 64 (the UNet size divisor), got {args.size}')
    return args


# ---------------------------------------------------------------------------- stages
class Stages:
    """Runs commands one by one and records wall time and peak memory of each."""

    def __init__(self, work: str, env: Dict[str, str]):
        self.work = work
        self.env = env
        self.records: List[dict] = []

    def run(self, name: str, cmd: Sequence[str]) -> dict:
        log = osp.join(self.work, 'logs', f'{name}.log')
        os.makedirs(osp.dirname(log), exist_ok=True)
        print(f'[{time.strftime("%H:%M:%S")}] {name}: {" ".join(cmd)}', flush=True)
        # Popen forks this process before exec; it stays small (no torch imported here) so
        # that a stage's peak RSS is its own
        start = time.time()
        with open(log, 'w') as out:
            proc = subprocess.Popen(list(cmd), cwd=ROOT, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        record = dict(stage=name, seconds=round(time.time() - start, 1),
                      peak_rss_mib=round(usage.ru_maxrss / 1024), command=' '.join(cmd),
                      log=log)
        with open(log) as f:
            lines = f.read().strip().splitlines()
        record['last_line'] = lines[-1] if lines else ''
        self.records.append(record)
        print(f'    {record["seconds"]:.1f} s, peak RSS {record["peak_rss_mib"]} MiB', flush=True)
        if proc.returncode:
            with open(log) as f:
                tail = f.read()[-4000:]
            raise SystemExit(f'stage {name} failed (exit {proc.returncode}); log {log}:\n{tail}')
        return record


def _python() -> str:
    return sys.executable


def write_model(folder: str, arch: str, tasks: Sequence[str]) -> None:
    """The published architecture with random weights, written by diffusers; the tokenizer
    is learned on the settings' prompts."""
    from mmdatasetdm.diffusion import architecture, build_components
    components = build_components(**architecture(arch), vocabulary=_vocabulary(tasks),
                                  num_merges=2000, seed=0)
    components.save_pretrained(folder)
    params = {name: sum(p.numel() for p in getattr(components, name).parameters())
              for name in ('unet', 'vae', 'text_encoder')}
    print(json.dumps(dict(folder=folder, arch=arch, parameters=params)))


def _vocabulary(tasks: Sequence[str]) -> List[str]:
    """The words of the settings' classes and prompts (the tokenizer is learned on them)."""
    from mmengine.config import Config

    from mmdatasetdm.generation.prompts import PromptSampler
    words = ['a photo of a', 'room', 'person']
    for task in tasks:
        cfg = Config.fromfile(osp.join(ROOT, SETTINGS[task]['generate']))
        sampler = PromptSampler(**cfg.prompts, num_prompts=400)
        words += [record.text for record in sampler]
        words += list(sampler.classes)
    return sorted(set(words))


# ------------------------------------------------------------------- config changes
def _walk(node, fn: Callable[[dict], None]):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _transforms(cfg, kind: str) -> List[dict]:
    found = []
    _walk(cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg,
          lambda d: found.append(d) if d.get('type') == kind else None)
    return found


def _loaders(cfg):
    return [cfg[k] for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            if cfg.get(k)]


def _short(cfg, iters: int, work_dir: str, batch_size: int = 2):
    cfg.work_dir = work_dir
    for loader in _loaders(cfg):
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = batch_size
    if cfg.train_cfg.get('by_epoch') or cfg.train_cfg.get('type') == 'EpochBasedTrainLoop':
        cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
        cfg.default_hooks.checkpoint.interval = 1
    else:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
        cfg.default_hooks.checkpoint.interval = iters
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0,
                                    end=iters)]
    cfg.default_hooks.logger.interval = 1


def _checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def _pose_size(size: int):
    """(width, height) of a person crop: 256x192 (3:4) rounded to the size divisor 64."""
    return max(64, (size * 3 // 4) // 64 * 64), size


def pdecoder_changes(cfg, task: str, sd: str, data: str, size: int, iters: int, work: str):
    cfg.model.backbone.pretrained = sd
    for loader in _loaders(cfg):
        loader.dataset.data_root = data
    if task == 'semantic':
        for t in _transforms(cfg, 'RandomResize') + _transforms(cfg, 'Resize'):
            t.scale = (4 * size, size)
        for t in _transforms(cfg, 'RandomCrop'):
            t.crop_size = (size, size)
    elif task == 'instance':
        for t in _transforms(cfg, 'RandomResize') + _transforms(cfg, 'Resize'):
            t.scale = (size, size)
        for t in _transforms(cfg, 'RandomCrop'):
            t.crop_size = (size, size)
        cfg.val_evaluator.ann_file = osp.join(data, 'annotations/instances_val2017.json')
        cfg.test_evaluator = cfg.val_evaluator
    elif task == 'pose':
        _pose_codec(cfg, size)
        cfg.val_evaluator.ann_file = osp.join(data, 'annotations/person_keypoints_val2017.json')
        cfg.test_evaluator = cfg.val_evaluator
    else:
        for t in _transforms(cfg, 'RandomCrop'):
            t.crop_size = (size, size)
        cfg.val_evaluator.crop_type = None  # NYU's border crop assumes 480x640 frames
        cfg.test_evaluator = cfg.val_evaluator
    _short(cfg, iters, work)


def _pose_codec(cfg, size: int):
    width, height = _pose_size(size)
    for codec in _transforms(cfg, 'MSRAHeatmap'):
        codec.input_size = (width, height)
        codec.heatmap_size = (width // 4, height // 4)
    for t in _transforms(cfg, 'TopdownAffine'):
        t.input_size = (width, height)


def downstream_changes(cfg, task: str, data: str, synthetic: str, size: int, iters: int,
                       work: str):
    train = cfg.train_dataloader.dataset
    real, synth = train.datasets
    real = real.get('dataset', real)
    real.data_root = data
    synth.data_root = synthetic
    cfg.val_dataloader.dataset.data_root = data
    cfg.test_dataloader = cfg.val_dataloader
    if task == 'semantic':
        for t in _transforms(cfg, 'RandomResize') + _transforms(cfg, 'Resize'):
            t.scale = (4 * size, size)
        for t in _transforms(cfg, 'RandomCrop'):
            t.crop_size = (size, size)
        for t in _transforms(cfg, 'Pad'):
            t.size = (size, size)
        cfg.model.data_preprocessor.size = (size, size)
        bn = dict(type='BN', requires_grad=True)  # SyncBN needs a process group and a GPU
        cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = bn
        cfg.model.auxiliary_head.norm_cfg = bn
        cfg.model.pretrained = None  # no ImageNet download
    elif task == 'instance':
        for t in _transforms(cfg, 'Resize'):
            t.scale = (size, size)
        cfg.model.backbone.init_cfg = None
        cfg.val_evaluator.ann_file = osp.join(data, 'annotations/instances_val2017.json')
        cfg.model.test_cfg.rcnn.score_thr = 0.0  # a random model scores everything low
    elif task == 'pose':
        _pose_codec(cfg, size)
        cfg.val_dataloader.dataset.bbox_file = None  # ground-truth person boxes
        cfg.val_evaluator.ann_file = osp.join(data, 'annotations/person_keypoints_val2017.json')
        cfg.model.backbone.init_cfg = None
    else:
        from mmengine.config import Config
        for pipeline in (real.pipeline, synth.pipeline):
            pipeline[:] = [t for t in pipeline if t.type != 'Albu']  # albumentations: absent
        for t in _transforms(cfg, 'RandomCrop'):
            t.crop_size = (size, size)
        for t in _transforms(cfg.val_dataloader, 'Resize'):
            t.scale = (size, size)
        cfg.val_evaluator.crop_type = None
        demo = Config.fromfile(osp.join(ROOT, 'projects', 'demo_world', 'configs', '_base_',
                                        'depth_downstream.py'))
        cfg.model = demo.model  # VPD needs the `ldm` package and SD weights
        cfg.model.decode_head.max_depth = 10.0
        cfg.optim_wrapper = demo.optim_wrapper
    cfg.test_evaluator = cfg.val_evaluator
    _short(cfg, iters, work)


def _changed_keys(before: dict, after: dict, prefix: str = '') -> List[str]:
    """Dotted keys whose values differ (lists compared whole)."""
    keys = []
    for key in sorted(set(before) | set(after), key=str):
        a, b = before.get(key), after.get(key)
        path = f'{prefix}{key}'
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, path + '.')
        elif a != b:
            keys.append(path)
    return keys


def derived_config(src: str, out: str, change: Callable) -> List[str]:
    """Load the repository's config, apply ``change``, dump it to ``out``; return what changed."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, src))
    before = cfg.to_dict()
    change(cfg)
    cfg.dump(out)
    return _changed_keys(before, cfg.to_dict())


# --------------------------------------------------------------------------- one task
def rehearse(task: str, args, stages: Stages, sd: str, work: str) -> dict:
    setting = SETTINGS[task]
    size = args.size or DEFAULT_SIZE[task]
    pdecoder_iters = args.pdecoder_iters or DEFAULT_PDECODER_ITERS[task]
    base = osp.join(work, task)
    os.makedirs(base, exist_ok=True)
    world, layouts = osp.join(base, 'world'), osp.join(base, 'layouts')
    data = osp.join(layouts, setting['data'])
    py = _python()
    stages.run(f'{task}/data', [
        py, 'projects/demo_world/tools/make_demo_world.py', '--out', world, '--seed', '0',
        '--splits', 'train_100', 'test', '--num', f'train_100={args.train_images}', '--num',
        f'test={args.test_images}', '--pool', '0', '--no-progress'])
    stages.run(f'{task}/layout', [
        py, 'projects/demo_world/tools/write_real_layouts.py', '--world', world, '--out', layouts,
        '--size', str(size), '--formats', setting['layout']])
    few = args.train_images // 2
    if task == 'semantic':
        split_dir = osp.join(data, 'ImageSets', 'Segmentation')
        fewshot = ['seg', '--ann-dir', osp.join(data, 'SegmentationClass'), '--split-file',
                   osp.join(split_dir, 'train.txt'), '--ignore-classes', '0', '--out',
                   osp.join(split_dir, 'train_100.txt')]
    elif task in ('instance', 'pose'):
        name = 'instances' if task == 'instance' else 'person_keypoints'
        fewshot = ['coco', '--ann-file', osp.join(data, 'annotations', f'{name}_train2017.json'),
                   '--out', osp.join(data, 'annotations', f'{name}_train2017_800.json')]
    else:
        fewshot = ['nyu', '--data-root', data, '--out-split', 'train_50']
    stages.run(f'{task}/fewshot', [py, 'tools/dataset_converters/make_fewshot_split.py',
                                   *fewshot, '--num', str(few), '--seed', '0'])

    changes = {}
    pdecoder_cfg = osp.join(base, 'pdecoder.py')
    pdecoder_work = osp.join(base, 'work_pdecoder')
    changes['pdecoder'] = derived_config(
        setting['pdecoder'], pdecoder_cfg,
        lambda cfg: pdecoder_changes(cfg, task, sd, data, size, pdecoder_iters, pdecoder_work))
    stages.run(f'{task}/pdecoder', [py, 'tools/train.py', pdecoder_cfg])
    checkpoint = _checkpoint(pdecoder_work)

    def generation_changes(cfg):
        cfg.decoder = dict(cfg.decoder, config=pdecoder_cfg, checkpoint=checkpoint)
        cfg.sampling = dict(cfg.sampling, steps=args.steps, height=size, width=size)
        cfg.filters = dict(ACCEPT_ALL)
        cfg.batch_size = 2
        cfg.device = args.device

    generate_cfg = osp.join(base, 'generate.py')
    changes['generate'] = derived_config(setting['generate'], generate_cfg, generation_changes)
    synthetic = osp.join(base, 'synthetic')
    stages.run(f'{task}/generate', [py, 'tools/generate.py', generate_cfg, '--num',
                                    str(args.num), '--out', synthetic])
    compare = [synthetic]
    if not args.no_dist:
        stages.env['PORT'] = str(29500 + TASKS.index(task) + 10 * (os.getpid() % 500))
        stages.run(f'{task}/generate_dist', [
            'bash', 'tools/dist_generate.sh', generate_cfg, str(args.dist_ranks), '--num',
            str(args.num), '--out',
            osp.join(base, 'synthetic_dist')])
        compare.append(osp.join(base, 'synthetic_dist'))
    counts = json.loads(stages.run(f'{task}/load_generated', [
        py, __file__, '--check-generated', *compare])['last_line'])

    downstream_cfg = osp.join(base, 'downstream.py')
    downstream_work = osp.join(base, 'work_downstream')
    changes['downstream'] = derived_config(
        setting['downstream'], downstream_cfg,
        lambda cfg: downstream_changes(cfg, task, data, synthetic, size, args.iters,
                                       downstream_work))
    stages.run(f'{task}/downstream', [py, 'tools/train.py', downstream_cfg])
    metrics = osp.join(base, 'test_metrics.json')
    stages.run(f'{task}/test', [py, 'tools/test.py', downstream_cfg,
                                _checkpoint(downstream_work), '--work-dir',
                                osp.join(base, 'work_test'), '--out', metrics])
    with open(metrics) as f:
        result = json.load(f)
    return dict(size=size, pdecoder_iters=pdecoder_iters, changes=changes, metrics=result,
                synthetic=dict(folder=synthetic, **counts))


def check_generated(folders: Sequence[str]) -> dict:
    """Read a generated set (every listed file decoded) and count its samples; a second
    folder (the multi-rank run) must hold the same samples, byte for byte."""
    from mmdatasetdm.fileio import file_sha256, read_manifest
    first = read_manifest(folders[0], check_files=True, verify=True)
    files = sorted(f for line in first if line['accepted'] for f in line['files'].values())
    for other in folders[1:]:
        lines = read_manifest(other, check_files=True, verify=True)
        if [line['files'] for line in lines] != [line['files'] for line in first]:
            raise SystemExit(f'{other} holds other samples than {folders[0]}')
        for name in files:
            if file_sha256(osp.join(other, name)) != file_sha256(osp.join(folders[0], name)):
                raise SystemExit(f'{name} differs between {folders[0]} and {other}')
    accepted = sum(line['accepted'] for line in first)
    return dict(accepted=accepted, rejected=len(first) - accepted, files=len(files),
                same_across_ranks=len(folders) > 1)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    tasks = TASKS if args.task == 'all' else (args.task, )
    if args.write_model:
        write_model(args.write_model, args.arch, tasks)
        return 0
    if args.check_generated:
        print(json.dumps(check_generated(args.check_generated)))
        return 0
    work = osp.abspath(args.work_dir) if args.work_dir else tempfile.mkdtemp(
        prefix='mmdatasetdm_rehearsal_')
    if work == ROOT or work.startswith(ROOT + os.sep):
        raise SystemExit(f'--work-dir {work} is inside the repository; the rehearsal writes a '
                         'multi-GB model folder: choose a folder outside it')
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, PYTHON=_python(), PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get('PYTHONPATH')) if p))
    # One thread count for every stage: torchrun would give its ranks 1 thread where the
    # variable is unset, and torch's CPU kernels round differently with another thread count,
    # so the 1-process and 2-rank sets could not be compared byte for byte.
    env.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
    stages = Stages(work, env)
    print(f'rehearsal of {", ".join(tasks)} at {args.arch} architecture in {work}\n'
          f'NOTE: {RANDOM_WEIGHTS}', flush=True)
    results = {}
    done = False
    try:
        if args.model:
            sd = osp.abspath(args.model)
        else:
            sd = osp.join(work, f'stable-diffusion-{args.arch}-random')
            stages.run('model', [_python(), __file__, '--write-model', sd, '--arch', args.arch,
                                 '--task', args.task])
        for task in tasks:
            results[task] = rehearse(task, args, stages, sd, work)
        done = True
    finally:
        report = dict(arch=args.arch, size=args.size, iters=args.iters, num=args.num,
                      device=args.device, dist_ranks=None if args.no_dist else args.dist_ranks,
                      steps=args.steps, work_dir=work, note=RANDOM_WEIGHTS,
                      stages=stages.records, results=results)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(report, f, indent=1, default=str)
        _print_report(report)
        if done and not args.work_dir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif not done:
            print(f'the work folder {work} is kept: it holds the failed stage\'s log')
    return 0


def _print_report(report: dict) -> None:
    print(f'\n{"stage":<24}{"seconds":>9}{"peak RSS MiB":>14}')
    for record in report['stages']:
        print(f'{record["stage"]:<24}{record["seconds"]:>9.1f}{record["peak_rss_mib"]:>14}')
    for task, result in report['results'].items():
        print(f'\n{task}: {result["size"]} px, {result["pdecoder_iters"]} P-Decoder iterations; '
              'the repository configs, changed in '
              + '; '.join(f'{stage}: {", ".join(keys)}' for stage, keys in
                          result['changes'].items()))
        synthetic = result['synthetic']
        print(f'{task}: generated {synthetic["accepted"]} accepted / {synthetic["rejected"]} '
              f'rejected samples ({synthetic["files"]} files read back'
              + (f', identical from 1 process and {report["dist_ranks"]} ranks'
                 if synthetic['same_across_ranks']
                 else '') + ')')
        print(f'{task}: test metrics (random weights, meaningless): '
              f'{json.dumps(result["metrics"])}')
    print(f'\nNOTE: {report["note"]}')


if __name__ == '__main__':
    sys.exit(main())
