"""Turn P-Decoder predictions into written annotations, with filters.

Each task has one function ``(prediction, record, filters) -> Annotation``
that also decides acceptance; rejected samples keep their reason, they are
never dropped silently.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence

import numpy as np

IGNORE_INDEX = 255


@dataclass
class FilterConfig:
    """Acceptance rules for generated samples.

    Args:
        min_confidence (float): semantic pixels whose normalised class
            probability is below this become 255 (ignore).
        max_ignore_fraction (float): reject a semantic mask with more ignored
            pixels than this.
        min_class_fraction (float): every prompted class must cover at least
            this fraction of the image (agreement between prompt and mask).
        min_score (float): instances/poses with a lower score are dropped.
        min_area (int): instances with fewer pixels are dropped.
        min_keypoint_score (float): keypoints scored lower are written as not
            labelled (visibility 0); others as visible (2).
        require_prompted (bool): reject a sample whose annotations contain
            none of the prompted classes.
    """

    min_confidence: float = 0.0
    max_ignore_fraction: float = 1.0
    min_class_fraction: float = 0.0
    min_score: float = 0.0
    min_area: int = 0
    min_keypoint_score: float = 0.3
    require_prompted: bool = True


@dataclass
class Annotation:
    """What the writer receives for one sample."""

    accepted: bool = True
    reason: Optional[str] = None
    semantic: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None
    instances: Optional[Dict[str, Any]] = None
    keypoints: Optional[Dict[str, Any]] = None
    scores: Dict[str, Any] = field(default_factory=dict)


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def semantic_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Semantic mask from mmseg's prediction (``pred_sem_seg``, ``seg_logits``).

    Confidence is the winning class's share of the (non-negative) class
    scores; mask-classification heads produce such scores.
    """
    labels = _np(pred.pred_sem_seg.data)[0].astype(np.int64)
    logits = _np(pred.seg_logits.data).astype(np.float64)
    scores = np.clip(logits, 0, None)
    total = scores.sum(0)
    confidence = np.where(total > 0, scores.max(0) / np.maximum(total, 1e-12), 0.0)
    labels = np.where(confidence >= cfg.min_confidence, labels, IGNORE_INDEX).astype(np.uint8)
    ignored = float((labels == IGNORE_INDEX).mean())
    fractions = {int(c): float((labels == c).mean()) for c in np.unique(labels) if c != IGNORE_INDEX}
    ann = Annotation(semantic=labels, scores=dict(
        mean_confidence=round(float(confidence.mean()), 6), ignore_fraction=round(ignored, 6),
        class_fractions={k: round(v, 6) for k, v in sorted(fractions.items())}))
    if ignored > cfg.max_ignore_fraction:
        ann.accepted, ann.reason = False, f'{ignored:.1%} of pixels uncertain'
        return ann
    for c in prompted:
        if fractions.get(int(c), 0.0) < cfg.min_class_fraction:
            ann.accepted = False
            ann.reason = (f'prompted class {int(c)} covers {fractions.get(int(c), 0.0):.1%} '
                          f'< {cfg.min_class_fraction:.1%}')
            return ann
    return ann


def instance_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Instances from mmdet's ``pred_instances`` (masks, labels, scores)."""
    inst = pred.pred_instances
    masks = _np(inst.masks).astype(bool)
    labels = _np(inst.labels).astype(np.int64)
    scores = _np(inst.scores).astype(np.float64)
    keep = (scores >= cfg.min_score) & (masks.reshape(len(masks), -1).sum(1) >= max(cfg.min_area, 1))
    ann = Annotation(instances=dict(masks=masks[keep], labels=labels[keep], scores=scores[keep]),
                     scores=dict(num_instances=int(keep.sum())))
    if not keep.any():
        ann.accepted, ann.reason = False, 'no instance above the score/area thresholds'
    elif cfg.require_prompted and prompted and not set(labels[keep]) & set(map(int, prompted)):
        ann.accepted, ann.reason = False, 'no instance of a prompted class'
    return ann


def depth_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Depth map (metres) from mmseg's ``pred_depth_map``."""
    depth = _np(pred.pred_depth_map.data)[0].astype(np.float64)
    return Annotation(depth=depth, scores=dict(min_depth=round(float(depth.min()), 6),
                                               max_depth=round(float(depth.max()), 6)))


def pose_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Keypoints from mmpose's ``pred_instances``."""
    inst = pred.pred_instances
    kpts = _np(inst.keypoints).astype(np.float64)
    kpt_scores = _np(inst.keypoint_scores).astype(np.float64)
    scores = kpt_scores.mean(1)
    keep = scores >= cfg.min_score
    visibility = np.where(kpt_scores >= cfg.min_keypoint_score, 2, 0)
    ann = Annotation(keypoints=dict(keypoints=kpts[keep], visibility=visibility[keep],
                                    scores=scores[keep], bboxes=_np(inst.bboxes)[keep]),
                     scores=dict(num_poses=int(keep.sum())))
    if not keep.any():
        ann.accepted, ann.reason = False, 'no pose above the score threshold'
    return ann


ANNOTATORS = dict(semantic=semantic_annotation, instance=instance_annotation,
                  depth=depth_annotation, pose=pose_annotation)
