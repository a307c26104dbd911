"""Scoring a demo-world checkpoint on one test split with its toolbox's metric.

The main job (``projects/demo_world/tools/run_demo.py``) and the paper tables
(``projects/demo_world/tools/paper_tables.py``) score checkpoints the same way:
mmseg's IoUMetric with per-class IoU for semantic segmentation, otherwise the
config's own test evaluator (CocoMetric for instances and keypoints,
DepthMetric for depth).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .jobs import ROOT

# The numbers each task's tables lead with: (metric key, column name, higher is better).
HEADLINE_METRICS = dict(
    semantic=(('mIoU', 'mIoU', True), ),
    instance=(('coco/segm_mAP', 'segm AP', True), ),
    depth=(('abs_rel', 'AbsRel', False), ('d1', 'δ1', True)),
    pose=(('coco/AP', 'keypoint AP', True), ),
)


def _config(config: str, cfg_options: Optional[dict]):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def score_semantic(config: str, checkpoint: str, world: str, split: str,
                   cfg_options: Optional[dict] = None) -> Dict:
    """mIoU and per-class IoU of a checkpoint on one split (mmseg's IoUMetric).

    Args:
        config (str): config path, relative to the repository root or absolute.
        checkpoint (str): the checkpoint to score.
        world (str): the demo world holding ``split``.
        split (str): the test split (``test``, ``test_shifted``).
        cfg_options (dict, optional): merged into the config first (e.g. the
            P-Decoder's ``model.backbone.pretrained``).

    Returns:
        dict: ``mIoU`` and ``per_class`` (class name -> IoU), in percent.
    """
    import numpy as np
    import torch
    from mmengine.runner import Runner
    from mmseg.evaluation import IoUMetric
    cfg = _config(config, cfg_options)
    cfg.test_dataloader.dataset.data_root = world
    cfg.test_dataloader.dataset.split = split
    cfg.work_dir = osp.join(osp.dirname(checkpoint), f'eval_{split}')
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    classes = runner.test_dataloader.dataset.metainfo['classes']
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = runner.test_dataloader.dataset.metainfo
    runner.model.eval()
    with torch.no_grad():
        for batch in runner.test_dataloader:
            outputs = runner.model.test_step(batch)
            metric.process(batch, [o.to_dict() for o in outputs])
    # IoUMetric's own per-class IoU of the summed areas (its compute_metrics keeps only
    # the rounded mean)
    areas = [sum(area) for area in zip(*metric.results)]
    iou = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])['IoU'] * 100
    return dict(mIoU=float(np.nanmean(iou)),
                per_class={c: float(v) for c, v in zip(classes, iou)})


def score_stock(config: str, checkpoint: str, world: str, split: str,
                cfg_options: Optional[dict] = None) -> Dict:
    """The config's own test evaluator on one split (CocoMetric, DepthMetric, ...).

    ``<split>_dataloader`` / ``<split>_evaluator`` of the config are used when it has
    them (the demo bases define ``test_shifted_*``); otherwise the test
    dataloader moves to ``split`` and an evaluator's ``ann_file`` of the test
    split to the same split's file. Paths under the config's ``data_root`` move
    to ``world``. Arguments as in :func:`score_semantic`.

    Returns:
        dict: the evaluator's numeric results.
    """
    from mmengine.runner import Runner
    cfg = _config(config, cfg_options)
    loader = cfg.get(f'{split}_dataloader')
    evaluator = cfg.get(f'{split}_evaluator')
    if loader is None:
        loader = cfg.test_dataloader
        own = loader.dataset.get('split')
        loader.dataset.split = split
        evaluator = evaluator or cfg.test_evaluator
        if own and own != split and evaluator.get('ann_file'):
            evaluator.ann_file = evaluator.ann_file.replace(f'_{own}.json', f'_{split}.json')
    evaluator = evaluator or cfg.test_evaluator
    loader.dataset.data_root = world
    loader.dataset.split = split
    if evaluator.get('ann_file'):
        evaluator.ann_file = evaluator.ann_file.replace(cfg.data_root, world, 1)
    cfg.test_dataloader, cfg.test_evaluator = loader, evaluator
    cfg.work_dir = osp.join(osp.dirname(checkpoint), f'eval_{split}')
    cfg.load_from = checkpoint
    metrics = Runner.from_cfg(cfg).test()
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def score(task: str, config: str, checkpoint: str, world: str, split: str,
          cfg_options: Optional[dict] = None) -> Dict:
    """:func:`score_semantic` for the semantic task, :func:`score_stock` otherwise."""
    scorer = score_semantic if task == 'semantic' else score_stock
    return scorer(config, checkpoint, world, split, cfg_options)


def headline(task: str, metrics: Dict) -> Dict[str, float]:
    """The task's headline numbers out of a :func:`score` result.

    A key matches the metric's full name or its last ``/`` part (mmseg's
    DepthMetric reports ``abs_rel``; other prefixes may come with it).

    Raises:
        KeyError: naming the metric and the keys that were there.
    """
    out = {}
    for key, name, _ in HEADLINE_METRICS[task]:
        found = [k for k in metrics if k == key or k.split('/')[-1] == key.split('/')[-1]]
        if not found:
            raise KeyError(f'{task}: no {key!r} among the scores {sorted(metrics)}')
        out[name] = metrics[found[0]]
    return out


def metric_names(task: str) -> Sequence[str]:
    """Column names of :data:`HEADLINE_METRICS` for ``task``."""
    return [name for _, name, _ in HEADLINE_METRICS[task]]


def stats(values: Sequence[float]) -> dict:
    """Mean, sample standard deviation and the 95 % t-interval of the mean."""
    import numpy as np
    from scipy import stats as st
    v = np.asarray([x for x in values if x is not None], dtype=float)
    n = len(v)
    if not n:
        return dict(n=0, mean=None, std=None, ci95=None)
    mean = float(v.mean())
    if n == 1:
        return dict(n=1, mean=mean, std=None, ci95=None)
    std = float(v.std(ddof=1))
    half = float(st.t.ppf(0.975, n - 1) * std / np.sqrt(n))
    return dict(n=n, mean=mean, std=std, ci95=[mean - half, mean + half])


def fmt(s: dict, digits: int = 2, interval: bool = True) -> str:
    """``mean ± std [95 % interval] (n=seeds)``; ``—`` when no seed is done."""
    if not s['n']:
        return '—'
    text = f'{s["mean"]:.{digits}f}'
    if s['std'] is not None:
        text += f' ± {s["std"]:.{digits}f}'
        if interval:
            lo, hi = s['ci95']
            text += f' [{lo:.{digits}f}, {hi:.{digits}f}]'
    return text + f' (n={s["n"]})'


def seed_means(report: dict, task: str) -> Dict[str, Dict[str, dict]]:
    """Per arm and test split, :func:`stats` over seeds of the rq3 headline numbers of
    ``task`` in a paper-tables report (``docs/results/paper_tables.json``).

    Returns:
        dict: ``{arm: {split: {metric name: stats}}}`` (empty if the report has no
        finished rq3 cell of the task).
    """
    values: Dict[str, Dict[str, Dict[str, List[float]]]] = {}
    for cell in report.get('cells', []):
        if cell['study'] != 'rq3' or cell['task'] != task or not cell.get('done'):
            continue
        per_metric = values.setdefault(cell['row'], {}).setdefault(cell['split'], {})
        for name, value in cell['headline'].items():
            per_metric.setdefault(name, []).append(value)
    return {arm: {split: {m: stats(v) for m, v in metrics.items()}
                  for split, metrics in splits.items()} for arm, splits in values.items()}


def zero_shot_metrics(per_class: Dict[str, float], unseen: Sequence[str]) -> Dict[str, float]:
    """Seen mIoU, unseen mIoU and their harmonic mean (the zero-shot segmentation summary).

    Args:
        per_class (dict): class name -> IoU (NaN for a class neither predicted nor present).
        unseen (Sequence[str]): the classes hidden from the training labels; every other
            class, the background included, is seen.

    Returns:
        dict: ``seen``, ``unseen`` and ``harmonic`` (0 when both means are 0).
    """
    import numpy as np
    missing = [c for c in unseen if c not in per_class]
    if missing:
        raise KeyError(f'unseen classes {missing} have no IoU (classes: {list(per_class)})')
    seen_iou = float(np.nanmean([v for c, v in per_class.items() if c not in unseen]))
    unseen_iou = float(np.nanmean([per_class[c] for c in unseen]))
    total = seen_iou + unseen_iou
    return dict(seen=seen_iou, unseen=unseen_iou,
                harmonic=0.0 if total == 0 else 2 * seen_iou * unseen_iou / total)
