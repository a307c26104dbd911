"""The paper's research questions answered on the demo world, with error bars.

    python projects/demo_world/tools/paper_tables.py --seeds 3            # everything
    python projects/demo_world/tools/paper_tables.py --seeds 3 --studies rq3 --tasks semantic
    python projects/demo_world/tools/paper_tables.py --report-only      # tables from what is done
    python projects/demo_world/tools/paper_tables.py --list             # cells and their state
    # one lever over three seeds (with the arms it is compared with), the rest left alone
    python projects/demo_world/tools/paper_tables.py --sweep-seeds 3 --studies levers \
        --tasks semantic --rows 'mixed prompts=llm' mixed real_only

Studies (each a table in ``docs/results.md``):
  rq1  each task's P-Decoder on real test images vs the downstream model trained on the
       same 100 labels (real only) and on 5000 labels (``train_large``);
  rq2  semantic, real labels 10 / 25 / 50 / 100 / 500: P-Decoder quality and the
       mixed - real-only gain;
  rq3  real only vs real + synthetic, all four tasks, ``test`` and ``test_shifted``, the
       toolbox's stock metric; per-class IoU for semantic segmentation;
  rq4  semantic ablations: the capture timestep, cross-attention maps fused or not, the
       prompts (class names only / captions with sub-types / a language model's prompt
       file), the number of synthetic images;
  zs   zero-shot: cones and balls hidden from every real label;
  levers  semantic levers of label quality beside the default mixed arm (per-pixel
       confidence: the generated pixels below a threshold ignored; the P-Decoder trained 3x
       as long; class quotas; the language model's prompts; the agreement filter; real
       fine-tuning), scored on ``val`` too, where a lever is chosen (never on a test split).

A seed ``s`` varies together: the 100-image draw (``train_100`` for seed 0, the main job's
split, else a new split ``train_100_seed<s>`` drawn from the same long-tailed distribution
of the same world, so every seed is scored on the same test images), the generation seed
(``prompts.seed``) and the training seed (``randomness.seed``) of the P-Decoder and the
downstream models. rq1, rq3 and zs run ``--seeds`` seeds, the rq2 / rq4 / levers sweeps
``--sweep-seeds`` (default 1).

Every stage is an ordinary tool run (``tools/train.py``, ``tools/generate.py``, scoring
with the task's metric) whose output lands under ``--work-dir`` and is skipped when it
exists, so the command can run in pieces (stop it at any time; a rerun resumes
unfinished trainings with ``--resume``). Jobs run ``--jobs`` at a time with one thread each,
so the numbers do not depend on ``--jobs``. In-training validation is off: every model is
scored once, at the end, on both test splits; nothing is chosen on a test split.

A cell recorded in ``<docs>/results/paper_tables.json`` (the committed report) counts as
done, so a fresh checkout continues the tables rather than recomputing them; a run of some
studies keeps the other studies' cells in the report (``--ignore-recorded`` recomputes the
requested ones).

Outputs: ``<work-dir>/cells.json`` and ``<docs>/results/paper_tables.json`` (every cell),
the tables between the ``paper_tables`` markers of ``<docs>/results.md``, and plots in
``<docs>/results/`` (gain per class, label sweep).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Sequence

from mmdatasetdm.fileio import atomic_write_text, dumps_json
from projects.demo_world.demo_world.jobs import (DEMO_TASKS, QUICK_FILTERS, ROOT, SD_FOLDER, SPLITS,
                                                 check_world_version, start, task_configs)
from projects.demo_world.demo_world.scoring import fmt, stats, zero_shot_metrics

TASKS = ('semantic', 'instance', 'depth', 'pose')
STUDIES = ('rq1', 'rq2', 'rq3', 'rq4', 'zs', 'levers')
LABEL_SWEEP = (10, 25, 50, 100, 500)
TIMESTEPS = (1, 501, 901)  # 501: the demo P-Decoders' default (chosen on train_large images)
NUM_SYNTHETIC = (400, 1600, 6400)
DEFAULT_TIMESTEP = 501
RARE_CLASSES = ('cone', 'ball')
# decimals per task (mIoU in percent; AP, AbsRel and δ1 as the toolboxes report them, in [0, 1])
DIGITS = dict(semantic=2)
# prompt sets of the rq4 ablation: the semantic generation config of each (None: the
# default). A config, not --cfg-options: mmengine's DictAction drops the spaces of a value.
PROMPT_SETS = OrderedDict(
    subtypes=None,  # the demo's default: colours, grounds and other objects (generate_demo.py)
    names='projects/demo_world/configs/generate_semantic_names.py',  # 'a photo of a {cls}'
    # captions a small language model wrote from class openings (prompts/semantic_llm.txt)
    llm='projects/demo_world/configs/generate_semantic_llm.py',
)
# prompt sets of the levers study (same form as PROMPT_SETS)
LEVER_PROMPT_SETS = OrderedDict(
    balanced='projects/demo_world/configs/generate_semantic_balanced.py')
# P-Decoder variants of the rq4 ablation: config options of the P-Decoder (and of the
# generation config's decoder, which must build the same model)
DECODER_VARIANTS = OrderedDict(default={}, no_attention={
    'model.decode_head.pixel_decoder.attention': 'None'})
for _t in TIMESTEPS:
    if _t != DEFAULT_TIMESTEP:
        DECODER_VARIANTS[f't{_t}'] = {'model.backbone.timestep': str(_t)}
# P-Decoder variants of the levers study: trained 3x as long (the schedule stretched)
LONG_PDECODER_ITERS = 3000
LEVER_DECODER_VARIANTS = OrderedDict([(f'iters{LONG_PDECODER_ITERS}', {
    'train_cfg.max_iters': str(LONG_PDECODER_ITERS),
    'train_cfg.val_interval': str(LONG_PDECODER_ITERS),
    'param_scheduler.0.end': str(LONG_PDECODER_ITERS),
    'default_hooks.checkpoint.interval': str(LONG_PDECODER_ITERS)})])


def decoder_variant_opts(variant: str) -> Dict[str, str]:
    """The config options of a P-Decoder variant (rq4's or the levers')."""
    return dict(DECODER_VARIANTS.get(variant) or LEVER_DECODER_VARIANTS.get(variant) or {})


# the zero-shot setting (study zs): its P-Decoder, generation and downstream configs, and the
# classes they hide from the real labels
ZERO_SHOT = 'zs'
ZS_CONFIGS = ('projects/demo_world/configs/pdecoder_semantic_zs.py',
              'projects/demo_world/configs/generate_semantic_zs.py',
              dict(real_only='projects/demo_world/configs/seg_real_100_zs.py',
                   real_synthetic='projects/demo_world/configs/seg_synth_100_zs.py'))
# levers of label quality (study 'levers', semantic): mixed arms that change one thing,
# scored on `val` (a balanced split drawn like `test` from the same world, never trained on)
# to choose among them, and on the test splits to report
VAL_SPLIT = 'val'
VAL_IMAGES = 300
CONFIDENCE_THRESHOLDS = (0.5, 0.7)  # SyntheticSegDataset(min_pixel_confidence=...)
# the training recipe lever: the default mixed arm's model fine-tuned on the 100 real images
# alone (the real-only config and seed; value: the report's words, opts: its schedule)
FINETUNE_RECIPES = OrderedDict(
    full=('the real-only schedule (3000 iterations, lr 4e-3)', []),
    short=('1000 iterations, lr 1e-3', [
        'train_cfg.max_iters=1000', 'param_scheduler.1.end=1000',
        'optim_wrapper.optimizer.lr=0.001']))
NO_VALIDATION = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
MARK_BEGIN = '<!-- paper_tables:begin (written by projects/demo_world/tools/paper_tables.py) -->'
MARK_END = '<!-- paper_tables:end -->'


@dataclass
class Job:
    """One tool run: done when ``done`` exists."""
    key: str
    cmd: List[str]
    done: str
    log: str
    deps: Sequence[str] = ()


@dataclass
class Cell:
    """One number of the tables: a scored model on one split."""
    study: str
    task: str
    row: str
    seed: int
    split: str
    job: str
    path: str
    params: dict = field(default_factory=dict)


@lru_cache(maxsize=None)
def load_config(config: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, config))


def variant_configs(task: str, variant: str):
    """The P-Decoder, generation and downstream configs of a P-Decoder variant."""
    return ZS_CONFIGS if variant == ZERO_SHOT else task_configs(task)


def split_name(labels: int, seed: int) -> str:
    """The demo-world training split with ``labels`` images for ``seed``."""
    return 'train_100' if (labels, seed) == (100, 0) else f'train_{labels}_seed{seed}'


class Plan:
    """The jobs and cells of the requested studies (each job once, in priority order)."""

    def __init__(self, args):
        self.args = args
        self.work = osp.abspath(args.work_dir)
        self.world = osp.abspath(args.world)
        self.sd = osp.abspath(osp.join(ROOT, args.sd))
        self.jobs: 'OrderedDict[str, Job]' = OrderedDict()
        self.cells: List[Cell] = []
        self.splits: Dict[str, int] = {}  # training splits the world needs -> images
        self.eval_splits = set()  # scoring splits besides the test splits (VAL_SPLIT)
        self.python = sys.executable

    # ------------------------------------------------------------------ helpers
    def _add(self, key, cmd, done, deps=()):
        if key not in self.jobs:
            # logs beside, not inside, the outputs (a generated set's folder holds only its files)
            log = osp.join(self.work, 'logs', key.replace('/', '.') + '.log')
            self.jobs[key] = Job(key, [str(c) for c in cmd], done, log, tuple(deps))
        return key

    def _schedule(self, iters: Optional[int]) -> List[str]:
        if not self.args.quick:
            return []
        return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                f'default_hooks.checkpoint.interval={iters}']

    def _iters(self, config: str) -> int:
        return 20 if self.args.quick else load_config(config).train_cfg.max_iters

    def _train_split(self, labels, seed):
        if labels == 'large':
            self.splits['train_large'] = 200 if self.args.quick else 5000
            return 'train_large'
        name = split_name(labels, seed)
        self.splits[name] = labels
        return name

    # ------------------------------------------------------------------ stages
    def pdecoder(self, task, labels, seed, variant='default'):
        split = self._train_split(labels, seed)
        config = variant_configs(task, variant)[0]
        key = f'pdecoder/{task}/{variant}/n{labels}/seed{seed}'
        folder = osp.join(self.work, key)
        iters = self._iters(config)
        if not self.args.quick:
            iters = int(decoder_variant_opts(variant).get('train_cfg.max_iters', iters))
        cfg = load_config(config)
        opts = [f'model.backbone.pretrained={self.sd}',
                f'train_dataloader.dataset.data_root={self.world}',
                f'train_dataloader.dataset.split={split}', f'randomness.seed={seed}']
        if cfg.model.backbone.get('feature_cache'):
            opts.append(f'model.backbone.feature_cache.dir={osp.join(folder, "feature_cache")}')
        opts += [f'{k}={v}' for k, v in decoder_variant_opts(variant).items()]
        opts += NO_VALIDATION + self._schedule(iters)
        if self.args.quick:
            opts.append(f'param_scheduler.0.end={iters}')
        ckpt = osp.join(folder, f'iter_{iters}.pth')
        self._add(key, [self.python, 'tools/train.py', config, '--work-dir', folder, '--resume',
                        '--cfg-options'] + opts, ckpt)
        return key, ckpt

    def score(self, task, config, parent, checkpoint, split, opts=()):
        key = f'{parent}/score_{split}'
        out = osp.join(self.work, parent, f'score_{split}.json')
        cmd = [self.python, __file__, 'score', '--task', task, '--config', config,
               '--checkpoint', checkpoint, '--world', self.world, '--split', split, '--out', out]
        if opts:
            cmd += ['--cfg-options'] + list(opts)
        return self._add(key, cmd, out, deps=[parent]), out

    def pdecoder_cells(self, study, task, labels, seed, variant='default', row='P-Decoder',
                       params=None):
        parent, ckpt = self.pdecoder(task, labels, seed, variant)
        opts = [f'model.backbone.pretrained={self.sd}'] + [
            f'{k}={v}' for k, v in decoder_variant_opts(variant).items()]
        for split in SPLITS:
            key, out = self.score(task, variant_configs(task, variant)[0], parent, ckpt, split,
                                  opts)
            self.cells.append(Cell(study, task, row, seed, split, key, out, params or {}))

    def synthetic(self, task, labels, seed, variant='default', prompts='subtypes', num=400,
                  confidence=False):
        """A generated set (``confidence``: with per-pixel confidence maps, the same samples)."""
        parent, ckpt = self.pdecoder(task, labels, seed, variant)
        num = min(num, 8) if self.args.quick else num
        key = f'synth/{task}/{variant}/n{labels}/seed{seed}/{prompts}_{num}' + (
            '_conf' if confidence else '')
        out = osp.join(self.work, key)
        opts = ['writer.confidence=True'] if confidence else []
        opts += [f'decoder.checkpoint={ckpt}',
                 f'decoder.cfg_options.model.backbone.pretrained={self.sd}',
                 f'prompts.seed={seed}'] + [
            f'decoder.cfg_options.{k}={v}' for k, v in decoder_variant_opts(variant).items()]
        opts += QUICK_FILTERS if self.args.quick else []
        config = ({**PROMPT_SETS, **LEVER_PROMPT_SETS}[prompts]
                  or variant_configs(task, variant)[1])
        self._add(key, [self.python, 'tools/generate.py', config,
                        '--num', num,
                        '--out', out, '--resume', '--no-card', '--cfg-options'] + opts,
                  osp.join(out, 'manifest.jsonl'), deps=[parent])
        return key, out

    def arm(self, task, arm, labels, seed, synth=None, variant='default', opts=(), name='',
            deps=()):
        """A downstream model: ``real_only`` (on ``labels`` real images, or ``'large'``) or
        ``real_synthetic`` (``synth``: the key and folder of a synthetic set); ``variant``
        ``'zs'`` takes the zero-shot setting's configs; ``opts``: more config options (a
        ``train_cfg.max_iters`` among them sets the checkpoint waited for), ``name`` the suffix
        of the job key they make, and ``deps`` the jobs they need besides the synthetic set."""
        extra = opts
        split = self._train_split(labels, seed)
        configs = variant_configs(task, variant)[2]
        config = configs['real_synthetic' if synth else 'real_only']
        real_key = DEMO_TASKS[task]['real_key']
        key = f'arm/{task}/{"large" if labels == "large" else f"n{labels}"}/seed{seed}/' + (
            synth[0].replace('/', '.') if synth else
            ('real_only_zs' if variant == ZERO_SHOT else 'real_only')) + (
                f'.{name}' if name else '')
        folder = osp.join(self.work, key)
        iters = self._iters(config)
        if not self.args.quick:
            iters = int(dict(o.split('=', 1) for o in extra).get('train_cfg.max_iters', iters))
        if synth:
            real = real_key.rsplit('.', 1)[0]
            opts = [f'{real_key}={self.world}', f'{real}.split={split}',
                    f'{DEMO_TASKS[task]["synth_key"]}={synth[1]}']
        else:
            opts = [f'train_dataloader.dataset.data_root={self.world}',
                    f'train_dataloader.dataset.split={split}']
        opts += list(extra) + [f'randomness.seed={seed}'] + NO_VALIDATION + self._schedule(iters)
        ckpt = osp.join(folder, f'iter_{iters}.pth')
        self._add(key, [self.python, 'tools/train.py', config, '--work-dir', folder, '--resume',
                        '--cfg-options'] + opts, ckpt,
                  deps=([synth[0]] if synth else []) + list(deps))
        return key, ckpt, config

    def arm_cells(self, study, task, row, labels, seed, synth=None, params=None,
                  variant='default', opts=(), name='', splits=SPLITS, deps=()):
        parent, ckpt, config = self.arm(task, 'real_synthetic' if synth else 'real_only',
                                        labels, seed, synth, variant, opts, name, deps)
        for split in splits:
            key, out = self.score(task, config, parent, ckpt, split)
            self.cells.append(Cell(study, task, row, seed, split, key, out, params or {}))

    # ------------------------------------------------------------------ studies
    def rq3(self, task, seed):
        self.arm_cells('rq3', task, 'real_only', 100, seed)
        self.arm_cells('rq3', task, 'real_synthetic', 100, seed,
                       self.synthetic(task, 100, seed))

    def rq1(self, task, seed):
        self.pdecoder_cells('rq1', task, 100, seed)
        self.arm_cells('rq1', task, 'real_only', 100, seed)
        parent, ckpt, config = self.arm(task, 'real_only', 'large', seed)
        for split in SPLITS:
            key, out = self.score(task, config, parent, ckpt, split)
            self.cells.append(Cell('rq1', task, 'large', seed, split, key, out))

    def rq2(self, labels, seed):
        task = 'semantic'
        self.pdecoder_cells('rq2', task, labels, seed, params=dict(labels=labels))
        self.arm_cells('rq2', task, 'real_only', labels, seed, params=dict(labels=labels))
        self.arm_cells('rq2', task, 'real_synthetic', labels, seed,
                       self.synthetic(task, labels, seed), params=dict(labels=labels))

    def zs(self, seed):
        """Zero-shot: cones and balls hidden from the real labels of every model."""
        task = 'semantic'
        self.pdecoder_cells(ZERO_SHOT, task, 100, seed, ZERO_SHOT)
        self.arm_cells(ZERO_SHOT, task, 'real_only', 100, seed, variant=ZERO_SHOT)
        self.arm_cells(ZERO_SHOT, task, 'real_synthetic', 100, seed,
                       self.synthetic(task, 100, seed, ZERO_SHOT), variant=ZERO_SHOT)

    def levers(self, seed):
        """Levers of label quality, each a mixed arm beside the default one, on ``val`` too."""
        task, splits = 'semantic', (VAL_SPLIT, ) + SPLITS
        self.eval_splits.add(VAL_SPLIT)
        self.arm_cells('levers', task, 'real_only', 100, seed, splits=splits)
        self.arm_cells('levers', task, 'mixed', 100, seed, self.synthetic(task, 100, seed),
                       params=dict(lever='none (the default mixed arm)', value='-'),
                       splits=splits)
        synth = self.synthetic(task, 100, seed, confidence=True)
        for t in CONFIDENCE_THRESHOLDS:
            self.arm_cells('levers', task, f'mixed confidence>={t}', 100, seed, synth,
                           params=dict(lever='per-pixel confidence: lower pixels ignored',
                                       value=f'>= {t}'),
                           opts=[f'{DEMO_TASKS[task]["synth_key"].rsplit(".", 1)[0]}'
                                 f'.min_pixel_confidence={t}'],
                           name=f'confidence{t}', splits=splits)
        for variant in LEVER_DECODER_VARIANTS:
            self.arm_cells('levers', task, f'mixed {variant}', 100, seed,
                           self.synthetic(task, 100, seed, variant),
                           params=dict(lever='P-Decoder training length',
                                       value=f'{LONG_PDECODER_ITERS} iterations (default 1000)'),
                           splits=splits)
        quotas = load_config(LEVER_PROMPT_SETS['balanced']).prompts.class_sampling.quotas
        self.arm_cells('levers', task, 'mixed prompts=balanced', 100, seed,
                       self.synthetic(task, 100, seed, prompts='balanced'),
                       params=dict(lever='classes asked for by 1 / acceptance rate',
                                   value='quotas ' + ', '.join(f'{c} {n}'
                                                               for c, n in quotas.items())),
                       splits=splits)
        self.arm_cells('levers', task, 'mixed prompts=llm', 100, seed,
                       self.synthetic(task, 100, seed, prompts='llm'),
                       params=dict(lever="prompts a language model wrote (RQ4's prompt file)",
                                   value=osp.basename(load_config(PROMPT_SETS['llm']).prompt_file)),
                       splits=splits)
        synth = self.synthetic(task, 100, seed)
        real, real_ckpt, real_config = self.arm(task, 'real_only', 100, seed)
        predictions = self.predictions(synth, real, real_ckpt, real_config)
        synth_dataset = DEMO_TASKS[task]['synth_key'].rsplit('.', 1)[0]
        for keep, value in ((True, 'prompted classes kept'), (False, 'every pixel')):
            self.arm_cells('levers', task, 'mixed agreement' + ('' if keep else ' (all)'), 100,
                           seed, synth, params=dict(
                               lever='agreement with the real-only model: others ignored',
                               value=value),
                           opts=[f'{synth_dataset}.agreement_root={predictions[1]}',
                                 f'{synth_dataset}.agreement_keeps_prompted={keep}'],
                           name='agreement' + ('' if keep else '_all'), splits=splits,
                           deps=[predictions[0]])
        mixed, mixed_ckpt, _ = self.arm(task, 'real_synthetic', 100, seed, synth)
        for recipe, (value, opts) in FINETUNE_RECIPES.items():
            self.arm_cells('levers', task, f'finetune {recipe}', 100, seed,
                           params=dict(lever='mixed pre-training, then real fine-tuning',
                                       value=value),
                           opts=[f'load_from={mixed_ckpt}'] + opts, name=f'finetune_{recipe}',
                           splits=splits, deps=[mixed])

    def predictions(self, synth, model, checkpoint, config):
        """A model's predictions on a generated set (``synth``: its key and folder; ``model``:
        the job of ``checkpoint``), for the agreement filter."""
        key = f'predict/{synth[0].split("/", 1)[1]}/{model.split("/")[-1]}'
        out = osp.join(self.work, key)
        self._add(key, [self.python, __file__, 'predict', synth[1], config, checkpoint,
                        '--out', out], out + '.json', deps=[synth[0], model])
        return key, out

    def rq4(self, seed):
        task = 'semantic'
        self.arm_cells('rq4', task, 'real_only', 100, seed)
        for variant in DECODER_VARIANTS:
            factor = 'timestep' if variant.startswith('t') or variant == 'default' else 'fusion'
            value = dict(default=f't={DEFAULT_TIMESTEP}, fused', no_attention='not fused').get(
                variant, f't={variant[1:]}')
            self.pdecoder_cells('rq4', task, 100, seed, variant, row=f'P-Decoder {variant}',
                                params=dict(factor=factor, value=value))
            self.arm_cells('rq4', task, f'mixed {variant}', 100, seed,
                           self.synthetic(task, 100, seed, variant),
                           params=dict(factor=factor, value=value))
        for prompts in PROMPT_SETS:
            if prompts != 'subtypes':
                self.arm_cells('rq4', task, f'mixed prompts={prompts}', 100, seed,
                               self.synthetic(task, 100, seed, prompts=prompts),
                               params=dict(factor='prompts', value=prompts))
        for num in self.args.num_synthetic:
            if num != 400:
                self.arm_cells('rq4', task, f'mixed num={num}', 100, seed,
                               self.synthetic(task, 100, seed, num=num),
                               params=dict(factor='num_synthetic', value=str(num)))


def build_plan(args) -> Plan:
    """Cells in priority order: semantic rq3/rq1 seed by seed, the other tasks, then the
    sweeps."""
    plan = Plan(args)
    for task in [t for t in TASKS if t in args.tasks]:
        for seed in range(args.seeds):
            if 'rq3' in args.studies:
                plan.rq3(task, seed)
            if 'rq1' in args.studies:
                plan.rq1(task, seed)
    if 'semantic' in args.tasks and ZERO_SHOT in args.studies:
        for seed in range(args.seeds):
            plan.zs(seed)
    if 'semantic' in args.tasks:
        for seed in range(args.sweep_seeds):
            if 'rq2' in args.studies:
                for labels in LABEL_SWEEP:
                    plan.rq2(labels, seed)
            if 'rq4' in args.studies:
                plan.rq4(seed)
            if 'levers' in args.studies:
                plan.levers(seed)
    if args.rows:
        known = list(OrderedDict.fromkeys(c.row for c in plan.cells))
        unknown = [r for r in args.rows if r not in known]
        if unknown:
            raise SystemExit(f'--rows {unknown}: no such row in the planned studies; rows: '
                             f'{known}')
        plan.cells = [c for c in plan.cells if c.row in args.rows]
    return plan


# ---------------------------------------------------------------------- running
def write_world_splits(world: str, splits: Dict[str, int], quick: bool,
                       eval_splits: Sequence[str] = ()) -> None:
    """Write the training splits (and the test splits, and ``val`` if asked) the plan needs,
    if missing."""
    from projects.demo_world.demo_world import default_splits, generate_world
    from projects.demo_world.demo_world.writer import SplitSpec
    check_world_version(world)
    defaults = default_splits()
    wanted = {s: defaults[s] if s in defaults else SplitSpec(n) for s, n in splits.items()}
    if 'train_large' in splits:
        wanted['train_large'] = SplitSpec(splits['train_large'])
    for test in SPLITS:
        spec = defaults[test]
        wanted[test] = SplitSpec(40, spec.labelled, spec.domain, spec.class_frequency) \
            if quick else spec
    if VAL_SPLIT in eval_splits:  # drawn like `test`: balanced classes, the training domain
        wanted[VAL_SPLIT] = SplitSpec(40 if quick else VAL_IMAGES,
                                      class_frequency=defaults['test'].class_frequency)
    missing = {s: spec for s, spec in wanted.items()
               if not osp.isfile(osp.join(world, 'splits', f'{s}.txt'))}
    if missing:
        print(f'writing demo-world splits {sorted(missing)} to {world}', flush=True)
        generate_world(world, seed=0, splits=missing, progress=False)


def execute(plan: Plan, max_jobs: int, keys: Optional[Sequence[str]] = None) -> List[str]:
    """Run the plan's unfinished jobs (of ``keys``, default all), ``max_jobs`` at a time, one
    thread each.

    Returns:
        list[str]: keys of the jobs that failed (their dependents are skipped).
    """
    keys = set(plan.jobs if keys is None else keys)
    todo = [job for job in plan.jobs.values() if job.key in keys and not osp.isfile(job.done)]
    total, finished, failed = len(todo), 0, []
    print(f'{len(plan.jobs) - total} of {len(plan.jobs)} jobs done before or not needed '
          f'(their cells are recorded); {total} to run', flush=True)
    running = {}
    began = time.time()
    timings = osp.join(plan.work, 'timings.jsonl')

    def done(key):
        return osp.isfile(plan.jobs[key].done) or key not in keys

    while todo or running:
        blocked = [j for j in todo if any(d in failed for d in j.deps)]
        for job in blocked:
            todo.remove(job)
            failed.append(job.key)
            print(f'  skipped {job.key}: a job it needs failed', flush=True)
        for job in [j for j in todo if all(done(d) for d in j.deps)]:
            if len(running) >= max_jobs:
                break
            os.makedirs(osp.dirname(job.log), exist_ok=True)
            todo.remove(job)
            running[job.key] = (start(job.cmd, job.log, threads=1), time.time())
        if not running:
            break
        time.sleep(1)
        for key, ((proc, f, log), t0) in list(running.items()):
            if proc.poll() is None:
                continue
            f.close()
            del running[key]
            finished += 1
            ok = proc.returncode == 0 and done(key)
            if not ok:
                failed.append(key)
            with open(timings, 'a') as t:
                t.write(json.dumps(dict(job=key, seconds=round(time.time() - t0, 1), ok=ok)) + '\n')
            print(f'[{finished}/{total}, {(time.time() - began) / 60:.1f} min] '
                  f'{"done" if ok else "FAILED"} {key} ({time.time() - t0:.0f} s)'
                  + ('' if ok else f'; log: {log}'), flush=True)
    return failed


# ---------------------------------------------------------------------- tables
def cell_id(cell) -> str:
    """What names a cell in the tables: study, task, row, seed and split (several studies'
    cells may share one score job, e.g. the real-only arm of rq1, rq3 and the levers)."""
    get = cell.get if isinstance(cell, dict) else lambda k: getattr(cell, k)
    return '|'.join(str(get(k)) for k in ('study', 'task', 'row', 'seed', 'split'))


def recorded_jobs(recorded: Dict[str, dict]) -> Dict[str, dict]:
    """{score job: one recorded cell of it} (a job's scores are the same in every study)."""
    return {c['job']: c for c in recorded.values()}


def load_recorded(path: str) -> 'OrderedDict[str, dict]':
    """The done cells of an earlier report (``<docs>/results/paper_tables.json``) by
    :func:`cell_id`.

    The report is committed with the docs, so cells scored on another machine or in an
    earlier checkout count as done: a rerun neither recomputes them nor drops them from the
    tables.
    """
    if not osp.isfile(path):
        return OrderedDict()
    try:
        with open(path) as f:
            cells = json.load(f)['cells']
    except (ValueError, KeyError, TypeError) as e:
        raise SystemExit(f'{path}: not a paper-tables report (a JSON object with "cells"): {e}')
    return OrderedDict((cell_id(c), c) for c in cells if c.get('done'))


def load_cells(plan: Plan, recorded: Optional[Dict[str, dict]] = None) -> List[dict]:
    """Every cell of the plan (scored here, or done in ``recorded``), then the recorded cells
    the plan does not name (other studies, tasks or seeds), so no finished cell is lost."""
    from projects.demo_world.demo_world.scoring import headline
    recorded = recorded or {}
    jobs = recorded_jobs(recorded)
    out = []
    for c in plan.cells:
        rec = dict(study=c.study, task=c.task, row=c.row, seed=c.seed, split=c.split,
                   params=c.params, job=c.job, done=osp.isfile(c.path))
        if rec['done']:
            with open(c.path) as f:
                scores = json.load(f)
            rec['scores'] = scores
            rec['headline'] = headline(c.task, scores)
        elif c.job in jobs:  # scored before: this cell's own labels, the job's scores
            rec.update(done=True, scores=jobs[c.job]['scores'],
                       headline=jobs[c.job]['headline'])
        out.append(rec)
    named = {cell_id(c) for c in plan.cells}
    out += [dict(c) for key, c in recorded.items() if key not in named]
    return out


def jobs_to_run(plan: Plan, recorded: Dict[str, dict]) -> List[str]:
    """Keys of the jobs that some unfinished cell needs (its score job and everything that
    job depends on), in plan order; jobs whose cells are all recorded are not rerun."""
    needed = set()
    done = recorded_jobs(recorded)
    stack = [c.job for c in plan.cells if not osp.isfile(c.path) and c.job not in done]
    while stack:
        key = stack.pop()
        if key not in needed:
            needed.add(key)
            stack.extend(plan.jobs[key].deps)
    return [key for key in plan.jobs if key in needed]


def _values(cells, **where):
    """{seed: headline dict} of the done cells matching ``where``."""
    return {c['seed']: c for c in cells
            if c['done'] and all(c.get(k) == v for k, v in where.items())}


def _metric_table(cells, task, rows, splits=SPLITS, gain_of=None):
    """Markdown rows: one per (row name, label) with mean ± std [95 % CI] per split and metric;
    ``gain_of=(a, b)`` adds the paired difference b - a."""
    from projects.demo_world.demo_world.scoring import metric_names
    names = metric_names(task)
    digits = DIGITS.get(task, 3)
    header = '| arm | ' + ' | '.join(f'{m} `{s}`' for s in splits for m in names) + ' |'
    lines = [header, '|---|' + '---:|' * (len(splits) * len(names))]
    for row, label, where in rows:
        cols = []
        for split in splits:
            found = _values(cells, task=task, row=row, split=split, **where)
            for m in names:
                cols.append(fmt(stats([c['headline'][m] for c in found.values()]), digits))
        lines.append(f'| {label} | ' + ' | '.join(cols) + ' |')
    if gain_of:
        (a, wa), (b, wb) = gain_of
        cols = []
        for split in splits:
            base = _values(cells, task=task, row=a, split=split, **wa)
            new = _values(cells, task=task, row=b, split=split, **wb)
            for m in names:
                cols.append(fmt(stats([new[s]['headline'][m] - base[s]['headline'][m]
                                       for s in sorted(set(base) & set(new))]), digits))
        lines.append('| **gain** (paired, same seeds) | ' + ' | '.join(cols) + ' |')
    return lines


def _per_class_table(cells, split):
    base = _values(cells, study='rq3', task='semantic', row='real_only', split=split)
    new = _values(cells, study='rq3', task='semantic', row='real_synthetic', split=split)
    seeds = sorted(set(base) & set(new))
    if not seeds:
        return [], {}
    classes = list(base[seeds[0]]['scores']['per_class'])
    lines = ['| class | real only | real + synthetic | gain |', '|---|---:|---:|---:|']
    gains = {}
    for c in classes:
        a = [base[s]['scores']['per_class'][c] for s in seeds]
        b = [new[s]['scores']['per_class'][c] for s in seeds]
        gains[c] = stats([y - x for x, y in zip(a, b)])
        name = f'**{c}** (rare)' if c in RARE_CLASSES else c
        lines.append(f'| {name} | {fmt(stats(a), interval=False)} | '
                     f'{fmt(stats(b), interval=False)} | {fmt(gains[c])} |')
    return lines, gains


def write_report(plan: Plan, docs: str, command: str,
                 recorded: Optional[Dict[str, dict]] = None) -> dict:
    """Write the tables, the JSON of every cell (``recorded`` ones included) and the plots;
    returns the JSON."""
    cells = load_cells(plan, recorded)
    done = sum(c['done'] for c in cells)
    md = [MARK_BEGIN, '',
          f'Written by `{command}`; {done} of {len(cells)} cells done. Each number is the mean '
          'over seeds ± the sample standard deviation [95 % t-interval of the mean] (n = seeds '
          'done); gains are paired over seeds. `—`: not run yet. Seed s draws its 100 labelled '
          'images (`train_100` for seed 0, `train_100_seed<s>` otherwise), its prompts and '
          'its training seeds; all seeds are scored on the same `test` / `test_shifted` images.',
          '']
    for task in TASKS:
        if any(c['study'] == 'rq1' and c['task'] == task for c in cells):
            md += [f'### RQ1 — {task}: the P-Decoder as a labeller', '']
            md += _metric_table(cells, task, [
                ('P-Decoder', 'P-Decoder, 100 labels', dict(study='rq1')),
                ('real_only', 'downstream, 100 labels (real only)', dict(study='rq1')),
                ('large', 'downstream, 5000 labels', dict(study='rq1'))]) + ['']
    for task in TASKS:
        if any(c['study'] == 'rq3' and c['task'] == task for c in cells):
            md += [f'### RQ3 — {task}: real only vs real + synthetic', '']
            if task == 'depth':
                md += ['The gain is mixed - real only: negative is better for AbsRel.', '']
            md += _metric_table(cells, task, [
                ('real_only', '100 real', dict(study='rq3')),
                ('real_synthetic', '100 real + synthetic', dict(study='rq3'))],
                gain_of=(('real_only', dict(study='rq3')),
                         ('real_synthetic', dict(study='rq3')))) + ['']
    gains_by_split = {}
    for split in SPLITS:
        lines, gains = _per_class_table(cells, split)
        if lines:
            gains_by_split[split] = gains
            md += [f'Semantic, per-class IoU on `{split}` (rare classes in bold; mean ± std, '
                   'the gain with its 95 % interval):', '']
            md += lines + ['']
    sweep = sorted({c['params']['labels'] for c in cells if c['study'] == 'rq2'})
    if sweep:
        md += ['### RQ2 — how many real labels (semantic, mIoU)', '',
               '| real labels | P-Decoder `test` | real only `test` | real + synthetic `test` | '
               'gain `test` | gain `test_shifted` |', '|---:|---:|---:|---:|---:|---:|']
        for n in sweep:
            row = [fmt(stats([c['headline']['mIoU'] for c in _values(
                cells, study='rq2', row=r, split='test', params=dict(labels=n)).values()]))
                for r in ('P-Decoder', 'real_only', 'real_synthetic')]
            for split in SPLITS:
                base = _values(cells, study='rq2', row='real_only', split=split,
                               params=dict(labels=n))
                new = _values(cells, study='rq2', row='real_synthetic', split=split,
                              params=dict(labels=n))
                row.append(fmt(stats([new[s]['headline']['mIoU'] - base[s]['headline']['mIoU']
                                      for s in sorted(set(base) & set(new))])))
            md.append(f'| {n} | ' + ' | '.join(row) + ' |')
        md.append('')
    md += _zero_shot_table(cells)
    rq4 = [c for c in cells if c['study'] == 'rq4']
    if rq4:
        md += ['### RQ4 — ablations (semantic, mIoU)', '',
               'The mixed arm with each setting changed alone; the default row is the '
               'P-Decoder at t = 501 with cross-attention maps fused, 400 images from prompts '
               'with sub-types. Gains are over the real-only arm of the same seed.', '',
               '| factor | setting | P-Decoder `test` | mixed `test` | mixed `test_shifted` | '
               'gain `test` | gain `test_shifted` |', '|---|---|---:|---:|---:|---:|---:|']
        rows = OrderedDict()
        for c in rq4:
            if c['row'] != 'real_only':
                rows.setdefault((c['params']['factor'], c['params']['value']), {})[
                    'pdecoder' if c['row'].startswith('P-Decoder') else 'mixed'] = c['row']
        for (factor, value), names in rows.items():
            pd = names.get('pdecoder')
            cols = [fmt(stats([c['headline']['mIoU'] for c in _values(
                rq4, row=pd, split='test').values()])) if pd else '']
            mixed = [_values(rq4, row=names['mixed'], split=s) for s in SPLITS]
            cols += [fmt(stats([c['headline']['mIoU'] for c in m.values()])) for m in mixed]
            for split, m in zip(SPLITS, mixed):
                base = _values(rq4, row='real_only', split=split)
                cols.append(fmt(stats([m[s]['headline']['mIoU'] - base[s]['headline']['mIoU']
                                       for s in sorted(set(base) & set(m))])))
            md.append(f'| {factor} | {value} | ' + ' | '.join(cols) + ' |')
        md.append('')
    md += _levers_table(cells)
    out_dir = osp.join(docs, 'results')
    os.makedirs(out_dir, exist_ok=True)
    plots = _plots(cells, gains_by_split, out_dir)
    if plots:
        md += ['Plots: ' + ', '.join(f'[{osp.basename(p)}](results/{osp.basename(p)})'
                                     for p in plots), '']
    md.append(MARK_END)
    earlier = []
    report_path = osp.join(out_dir, 'paper_tables.json')
    if osp.isfile(report_path):
        with open(report_path) as f:
            earlier = json.load(f).get('commands', [])
    report = dict(command=command, commands=list(OrderedDict.fromkeys(earlier + [command])),
                  cells=cells)
    atomic_write_text(report_path, dumps_json(report) + '\n')
    atomic_write_text(osp.join(plan.work, 'cells.json'), dumps_json(report) + '\n')
    _splice(osp.join(docs, 'results.md'), '\n'.join(md))
    return report


def _zero_shot_table(cells) -> List[str]:
    zs = [c for c in cells if c['study'] == ZERO_SHOT]
    if not zs:
        return []
    unseen = load_config(ZS_CONFIGS[0]).unseen_classes
    lines = [f'### Zero-shot — {" and ".join(unseen)} hidden from every real label (semantic)',
             '', 'The P-Decoder (a WordAttentionHead) and both downstream arms train on the 100 '
             f'labelled images with the {" and ".join(unseen)} pixels ignored and never named '
             'in a training prompt; the generator\'s prompts name every class. IoU in percent: '
             'seen = mean over the other classes, background included; h = harmonic mean.', '',
             '| model | ' + ' | '.join(
                 f'{m} `{s}`' for s in SPLITS for m in ('seen', 'unseen', 'h')) + ' |',
             '|---|' + '---:|' * (3 * len(SPLITS))]
    by = defaultdict(dict)
    for c in zs:
        if c['done']:
            by[(c['row'], c['split'])][c['seed']] = zero_shot_metrics(
                c['scores']['per_class'], unseen)
    for row, label in (('P-Decoder', 'P-Decoder (zero-shot)'), ('real_only', '100 real'),
                       ('real_synthetic', '100 real + synthetic')):
        lines.append(f'| {label} | ' + ' | '.join(
            fmt(stats([v[m] for v in by[(row, s)].values()]))
            for s in SPLITS for m in ('seen', 'unseen', 'harmonic')) + ' |')
    gains = []
    for s in SPLITS:
        base, new = by[('real_only', s)], by[('real_synthetic', s)]
        seeds = sorted(set(base) & set(new))
        gains += [fmt(stats([new[k][m] - base[k][m] for k in seeds]))
                  for m in ('seen', 'unseen', 'harmonic')]
    lines += ['| **gain** (paired) | ' + ' | '.join(gains) + ' |', '']
    return lines


def _levers_table(cells) -> List[str]:
    levers = [c for c in cells if c['study'] == 'levers']
    if not levers:
        return []
    splits = (VAL_SPLIT, ) + SPLITS
    lines = ['### Levers of label quality (semantic, mIoU)', '',
             'Each row changes one thing in the mixed arm (100 real + 400 generated images); '
             f'gains are over the real-only arm of the same seed. `{VAL_SPLIT}` is a balanced '
             f'split of {VAL_IMAGES} images drawn like `test`, never trained on: a lever is '
             'chosen there, and reported on the test splits.', '',
             '| lever | setting | ' + ' | '.join(f'mixed `{s}` | gain `{s}`' for s in splits)
             + ' |', '|---|---|' + '---:|' * (2 * len(splits))]
    rows = OrderedDict()
    for c in levers:
        if c['row'] != 'real_only':
            rows.setdefault(c['row'], c['params'])
    for row, params in rows.items():
        cols = []
        for split in splits:
            base = _values(levers, row='real_only', split=split)
            new = _values(levers, row=row, split=split)
            cols.append(fmt(stats([c['headline']['mIoU'] for c in new.values()])))
            cols.append(fmt(stats([new[k]['headline']['mIoU'] - base[k]['headline']['mIoU']
                                   for k in sorted(set(base) & set(new))])))
        lines.append(f'| {params.get("lever")} | {params.get("value")} | ' + ' | '.join(cols)
                     + ' |')
    return lines + ['']


def _splice(path: str, block: str) -> None:
    """Put ``block`` between the markers of ``path`` (appended, or a new file, if absent)."""
    text = open(path).read() if osp.isfile(path) else '# Results\n'
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    atomic_write_text(path, text)


def _plots(cells, gains_by_split, out_dir) -> List[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    written = []
    if gains_by_split:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        classes = list(next(iter(gains_by_split.values())))
        width = 0.8 / len(gains_by_split)
        for i, (split, gains) in enumerate(gains_by_split.items()):
            means = [gains[c]['mean'] for c in classes]
            errs = [(gains[c]['ci95'][1] - gains[c]['mean']) if gains[c]['ci95'] else 0
                    for c in classes]
            ax.bar([k + i * width for k in range(len(classes))], means, width, yerr=errs,
                   capsize=3, label=split)
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(classes))], classes)
        ax.set_ylabel('IoU gain, mixed - real only')
        ax.set_title('Semantic: per-class gain (mean, 95% interval over seeds)')
        written.append(_save(fig, ax, osp.join(out_dir, 'gain_per_class.png')))
    sweep = sorted({c['params']['labels'] for c in cells if c['study'] == 'rq2' and c['done']})
    if sweep:
        fig, ax = plt.subplots(figsize=(6, 4))
        for row, label in (('P-Decoder', 'P-Decoder'), ('real_only', 'real only'),
                           ('real_synthetic', 'real + synthetic')):
            xs, ys = [], []
            for n in sweep:
                s = stats([c['headline']['mIoU'] for c in _values(
                    cells, study='rq2', row=row, split='test', params=dict(labels=n)).values()])
                if s['n']:
                    xs.append(n)
                    ys.append(s['mean'])
            ax.plot(xs, ys, marker='o', label=label)
        ax.set_xscale('log')
        ax.set_xlabel('real labelled images')
        ax.set_ylabel('mIoU on test')
        written.append(_save(fig, ax, osp.join(out_dir, 'label_sweep.png')))
    return written


def _save(fig, ax, path: str) -> str:
    import matplotlib.pyplot as plt
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------- CLI
def predict_main(argv):
    """``paper_tables.py predict SET CONFIG CHECKPOINT --out DIR``: tools/predict_synthetic.py,
    then ``DIR.json`` (the job's done file) once every prediction is written."""
    from mmdatasetdm.datasets.seg_predictions import write_seg_predictions
    parser = argparse.ArgumentParser(prog='paper_tables.py predict')
    for name in ('data_root', 'config', 'checkpoint'):
        parser.add_argument(name)
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    written = write_seg_predictions(args.data_root, args.config, args.checkpoint, args.out,
                                    progress=False)
    atomic_write_text(args.out + '.json', dumps_json(dict(written=written, out=args.out)) + '\n')
    print(f'{written} predictions written to {args.out}')


def score_main(argv):
    """``paper_tables.py score ...``: one checkpoint on one split, to a JSON file."""
    from mmengine.config import DictAction

    from projects.demo_world.demo_world.scoring import score
    parser = argparse.ArgumentParser(prog='paper_tables.py score')
    for name in ('task', 'config', 'checkpoint', 'world', 'split', 'out'):
        parser.add_argument(f'--{name}', required=True)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    result = score(args.task, args.config, args.checkpoint, args.world, args.split,
                   args.cfg_options)
    atomic_write_text(args.out, dumps_json(result) + '\n')
    print(f'{args.out}: {result}')


# options that change no cell (where the tables go, how many jobs run at once, what is run)
REPORT_ONLY_OPTIONS = {'--docs': 1, '--jobs': 1, '--report-only': 0, '--list': 0}


def cell_options(argv: Sequence[str]) -> List[str]:
    """The command line without the options that change no cell: the command to quote."""
    from mmdatasetdm.generation.card import drop_options
    return drop_options(argv, REPORT_ONLY_OPTIONS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=3, help='seeds of rq1 and rq3')
    parser.add_argument('--sweep-seeds', type=int, default=1, help='seeds of rq2 and rq4')
    parser.add_argument('--studies', nargs='+', default=list(STUDIES), choices=STUDIES)
    parser.add_argument('--tasks', nargs='+', default=list(TASKS), choices=TASKS)
    parser.add_argument('--num-synthetic', type=int, nargs='+', default=list(NUM_SYNTHETIC),
                        help='sizes of the synthetic sets in rq4 (400 is its default arm); '
                        'leave out a large one to run the rest of the sweep first')
    parser.add_argument('--rows', nargs='+',
                        help="only these rows of the planned studies (e.g. 'mixed prompts=llm' "
                        'with --sweep-seeds 3: one sweep row over more seeds)')
    parser.add_argument('--work-dir', default='work_dirs/paper_tables')
    parser.add_argument('--world', default='data/demo_world')
    parser.add_argument('--sd', default=SD_FOLDER, help='the diffusers folder of the SD model')
    parser.add_argument('--docs', default='docs', help='where results.md and results/ go')
    parser.add_argument('--jobs', type=int, default=2, help='jobs at a time (one thread each)')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 20 iterations per model, 8 synthetic images, '
                        '40-image test splits in a new world')
    parser.add_argument('--list', action='store_true', help='print the cells and exit')
    parser.add_argument('--report-only', action='store_true',
                        help='write the tables from the finished cells, run nothing')
    parser.add_argument('--ignore-recorded', action='store_true',
                        help='recompute cells recorded in <docs>/results/paper_tables.json '
                        'but not scored under --work-dir (after a change that moves them)')
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['score']:
        return score_main(argv[1:])
    if argv[:1] == ['predict']:
        return predict_main(argv[1:])
    args = parse_args(argv)
    plan = build_plan(args)
    command = 'python projects/demo_world/tools/paper_tables.py ' + ' '.join(cell_options(argv))
    recorded = load_recorded(osp.join(args.docs, 'results', 'paper_tables.json'))
    # --ignore-recorded: recompute the plan's recorded cells (the others stay in the report)
    pending = {} if args.ignore_recorded else recorded
    if args.ignore_recorded:
        planned = {cell.job for cell in plan.cells}
        recorded = OrderedDict((k, c) for k, c in recorded.items() if c['job'] not in planned)
    needed = jobs_to_run(plan, pending)
    if args.list:
        state = defaultdict(lambda: [0, 0])
        scored = recorded_jobs(pending)
        for c in plan.cells:
            state[(c.study, c.task, c.row)][osp.isfile(c.path) or c.job in scored] += 1
        for (study, task, row), (todo, done) in state.items():
            print(f'{study:<7}{task:<10}{row:<28}{done}/{todo + done} done')
        print(f'{len(plan.jobs)} jobs, {len(needed)} still needed '
              f'({sum(osp.isfile(plan.jobs[k].done) for k in needed)} of them done)')
        return 0
    failed = []
    if not args.report_only:
        if not osp.isfile(osp.join(plan.sd, 'model_index.json')):
            raise SystemExit(f'{plan.sd} is not a diffusers folder (model_index.json missing)')
        write_world_splits(plan.world, plan.splits, args.quick, sorted(plan.eval_splits))
        failed = execute(plan, args.jobs, needed)
    report = write_report(plan, args.docs, command, recorded)
    done = sum(c['done'] for c in report['cells'])
    print(f'{done} of {len(report["cells"])} cells done; tables in '
          f'{osp.join(args.docs, "results.md")}')
    if failed:
        print(f'{len(failed)} jobs failed or were skipped: {failed}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
