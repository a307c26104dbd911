"""Cross-entropy with per-class weights on labels that contain an ignore index."""
from mmseg.models.losses import CrossEntropyLoss
from torch import Tensor

from mmdatasetdm.registry import MODELS


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(CrossEntropyLoss):
    """mmseg's ``CrossEntropyLoss`` with ``class_weight``, averaged as torch does.

    With ``class_weight`` set, mmseg 1.2's ``cross_entropy`` derives the
    average factor by indexing the weights with every label, the ignore index
    (255) included, and fails on the first padded or ignored pixel. This loss
    passes the factor itself: the sum of the class weights of the labelled
    pixels, which makes the result the weighted mean over labelled pixels that
    ``torch.nn.functional.cross_entropy(weight=..., ignore_index=...)`` gives.

    Args:
        class_weight (list[float]): One weight per class (required).
        **kwargs: The other arguments of mmseg's ``CrossEntropyLoss``
            (softmax only; ``avg_non_ignore`` is implied).
    """

    def __init__(self, class_weight, **kwargs):
        if class_weight is None or kwargs.get('use_sigmoid') or kwargs.get('use_mask'):
            raise ValueError('ClassWeightedCrossEntropyLoss needs class_weight and a softmax '
                             'cross-entropy (use_sigmoid=False, use_mask=False)')
        kwargs['avg_non_ignore'] = True
        super().__init__(class_weight=class_weight, **kwargs)

    def forward(self, cls_score: Tensor, label: Tensor, weight=None, avg_factor=None,
                reduction_override=None, ignore_index: int = -100, **kwargs) -> Tensor:
        if avg_factor is None and (reduction_override or self.reduction) == 'mean':
            class_weight = cls_score.new_tensor(self.class_weight)
            if len(class_weight) != cls_score.shape[1]:
                raise ValueError(f'class_weight has {len(class_weight)} entries but the score '
                                 f'map has {cls_score.shape[1]} classes')
            labelled = label != ignore_index
            avg_factor = class_weight[label[labelled].long()].sum().clamp(min=1e-12)
        return super().forward(cls_score, label, weight=weight, avg_factor=avg_factor,
                               reduction_override=reduction_override,
                               ignore_index=ignore_index, **kwargs)
