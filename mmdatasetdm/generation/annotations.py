"""Turn P-Decoder predictions into written annotations, with filters.

Each task has one function ``(prediction, record, filters) -> Annotation``
that also decides acceptance; rejected samples keep their reason, they are
never dropped silently.

A reason is one of the fixed categories in :data:`REJECT_REASONS`, so that
``merge_shards`` can count rejections by cause; what was measured (the
fraction, the best score, the threshold) goes to the sample's scores under
``reject_detail``.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence

import numpy as np

from mmdatasetdm.fileio import IGNORE_INDEX

# Rejection categories (the manifest's ``reason``); the measured values are in
# ``scores['reject_detail']``.
TOO_UNCERTAIN = 'too_uncertain'  # too many pixels below min_confidence
PROMPTED_CLASS_MISSING = 'prompted_class_missing'  # a prompted class is absent
PROMPTED_CLASS_TOO_SMALL = 'prompted_class_too_small'  # present, below min_class_fraction
NO_PREDICTION = 'no_prediction'  # the decoder predicted no instance / pose at all
LOW_SCORE = 'low_score'  # every prediction scored below min_score
TOO_SMALL = 'too_small'  # the well-scored instances are all below min_area
# a prompted class is named only past the text encoder's token limit (it never saw the word)
PROMPTED_CLASS_TRUNCATED = 'prompted_class_truncated'
REJECT_REASONS = (TOO_UNCERTAIN, PROMPTED_CLASS_MISSING, PROMPTED_CLASS_TOO_SMALL, NO_PREDICTION,
                  LOW_SCORE, TOO_SMALL, PROMPTED_CLASS_TRUNCATED)


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
        keypoint_box_scale (float, optional): pose: write each person's box as
            the extent of its labelled keypoints scaled by this factor about its
            centre (clipped to the image), the box a person-box convention like
            COCO's gives, instead of the box the decoder cropped (an attention
            region, or the whole image); None keeps the cropped box.
        require_prompted (bool): reject a sample whose annotations miss a
            prompted class (semantic: any prompted class absent from the
            mask; instance: none of the prompted classes among the kept
            instances; depth has no classes to check).
    """

    min_confidence: float = 0.0
    max_ignore_fraction: float = 1.0
    min_class_fraction: float = 0.0
    min_score: float = 0.0
    min_area: int = 0
    min_keypoint_score: float = 0.3
    keypoint_box_scale: Optional[float] = None
    require_prompted: bool = True

    def __post_init__(self):
        if self.keypoint_box_scale is not None and not self.keypoint_box_scale > 0:
            raise ValueError(f'filters.keypoint_box_scale must be positive, got '
                             f'{self.keypoint_box_scale}')


@dataclass
class Annotation:
    """What the writer receives for one sample.

    ``reason`` is one of :data:`REJECT_REASONS` when ``accepted`` is False, and
    ``scores`` (written to the manifest line) then also holds
    ``reject_detail``: the measured value(s) and the threshold that failed.
    """

    accepted: bool = True
    reason: Optional[str] = None  # one of REJECT_REASONS when rejected
    semantic: Optional[np.ndarray] = None
    confidence: Optional[np.ndarray] = None  # the semantic labels' per-pixel confidence
    depth: Optional[np.ndarray] = None
    instances: Optional[Dict[str, Any]] = None
    keypoints: Optional[Dict[str, Any]] = None
    scores: Dict[str, Any] = field(default_factory=dict)


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def reject(ann: Annotation, reason: str, **detail) -> Annotation:
    """Mark ``ann`` rejected for ``reason`` (a :data:`REJECT_REASONS` entry),
    recording the measured values in ``ann.scores['reject_detail']``.

    Args:
        ann (Annotation): the sample's annotation.
        reason (str): the rejection category.
        **detail: what was measured and the threshold it failed.

    Returns:
        Annotation: ``ann``.
    """
    assert reason in REJECT_REASONS, reason
    ann.accepted, ann.reason = False, reason
    ann.scores['reject_detail'] = {k: round(float(v), 6) if isinstance(v, float) else v
                                   for k, v in detail.items()}
    return ann


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
    fractions = {
        int(c): float((labels == c).mean())
        for c in np.unique(labels) if c != IGNORE_INDEX
    }
    ann = Annotation(semantic=labels, confidence=confidence.astype(np.float32), scores=dict(
        mean_confidence=round(float(confidence.mean()), 6), ignore_fraction=round(ignored, 6),
        class_fractions={k: round(v, 6) for k, v in sorted(fractions.items())}))
    if ignored > cfg.max_ignore_fraction:
        return reject(ann, TOO_UNCERTAIN, ignore_fraction=ignored,
                      max_ignore_fraction=float(cfg.max_ignore_fraction))
    for c in prompted:
        fraction = fractions.get(int(c), 0.0)
        if fraction < cfg.min_class_fraction or (cfg.require_prompted and fraction == 0):
            reason = PROMPTED_CLASS_MISSING if fraction == 0 else PROMPTED_CLASS_TOO_SMALL
            return reject(ann, reason, class_id=int(c), class_fraction=fraction,
                          min_class_fraction=float(cfg.min_class_fraction))
    return ann


def instance_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Instances from mmdet's ``pred_instances`` (masks, labels, scores)."""
    inst = pred.pred_instances
    masks = _np(inst.masks).astype(bool)
    labels = _np(inst.labels).astype(np.int64)
    scores = _np(inst.scores).astype(np.float64)
    areas = masks.sum(axis=(1, 2))  # (N,); reshape(0, -1) would fail on no instance
    scored = scores >= cfg.min_score
    keep = scored & (areas >= max(cfg.min_area, 1))
    ann = Annotation(instances=dict(masks=masks[keep], labels=labels[keep], scores=scores[keep]),
                     scores=dict(num_instances=int(keep.sum())))
    if not len(scores):
        return reject(ann, NO_PREDICTION)
    if not scored.any():
        return reject(
            ann, LOW_SCORE, max_score=float(scores.max()), min_score=float(cfg.min_score))
    if not keep.any():
        return reject(ann, TOO_SMALL, max_area=int(areas[scored].max()),
                      min_area=int(max(cfg.min_area, 1)))
    if cfg.require_prompted and prompted and not set(labels[keep]) & set(map(int, prompted)):
        return reject(ann, PROMPTED_CLASS_MISSING, class_ids=sorted(map(int, prompted)),
                      found_class_ids=sorted(set(map(int, labels[keep]))))
    return ann


def depth_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Depth map (metres) from mmseg's ``pred_depth_map``."""
    depth = _np(pred.pred_depth_map.data)[0].astype(np.float64)
    return Annotation(depth=depth, scores=dict(min_depth=round(float(depth.min()), 6),
                                               max_depth=round(float(depth.max()), 6)))


def keypoint_boxes(keypoints: np.ndarray, labelled: np.ndarray, scale: float,
                   fallback: np.ndarray, image_shape: Optional[Sequence[int]]) -> np.ndarray:
    """Each person's box: the extent of its labelled keypoints scaled by ``scale`` about
    its centre, clipped to the image.

    Args:
        keypoints (np.ndarray): (N, K, 2) pixel coordinates.
        labelled (np.ndarray): (N, K) bool, the keypoints that are written as labelled.
        scale (float): box side / keypoint extent.
        fallback (np.ndarray): (N, 4) boxes of people with fewer than two labelled
            keypoints (they have no extent).
        image_shape (Sequence[int], optional): (H, W) to clip to.

    Returns:
        np.ndarray: (N, 4) float64 boxes ``x1, y1, x2, y2``.
    """
    boxes = np.array(fallback, np.float64).reshape(-1, 4)
    for k in range(len(keypoints)):
        points = keypoints[k][labelled[k]]
        if len(points) < 2:
            continue
        low, high = points.min(0), points.max(0)
        centre, half = (low + high) / 2, (high - low) * scale / 2
        boxes[k] = np.concatenate([centre - half, centre + half])
    if image_shape is not None:
        height, width = image_shape[:2]
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    return boxes


def pose_annotation(pred, prompted: Sequence[int], cfg: FilterConfig) -> Annotation:
    """Keypoints from mmpose's ``pred_instances``."""
    inst = pred.pred_instances
    kpts = _np(inst.keypoints).astype(np.float64)
    kpt_scores = _np(inst.keypoint_scores).astype(np.float64)
    scores = kpt_scores.mean(1)
    keep = scores >= cfg.min_score
    visibility = np.where(kpt_scores >= cfg.min_keypoint_score, 2, 0)
    bboxes = _np(inst.bboxes).astype(np.float64).reshape(-1, 4)
    if cfg.keypoint_box_scale is not None:
        bboxes = keypoint_boxes(kpts, visibility > 0, cfg.keypoint_box_scale, bboxes,
                                getattr(pred, 'metainfo', {}).get('ori_shape'))
    ann = Annotation(keypoints=dict(keypoints=kpts[keep], visibility=visibility[keep],
                                    scores=scores[keep], bboxes=bboxes[keep]),
                     scores=dict(num_poses=int(keep.sum())))
    if not len(scores):
        return reject(ann, NO_PREDICTION)
    if not keep.any():
        return reject(
            ann, LOW_SCORE, max_score=float(scores.max()), min_score=float(cfg.min_score))
    return ann


ANNOTATORS = dict(semantic=semantic_annotation, instance=instance_annotation,
                  depth=depth_annotation, pose=pose_annotation)
