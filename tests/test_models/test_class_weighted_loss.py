"""ClassWeightedCrossEntropyLoss: torch's weighted mean over labelled pixels."""
import pytest
import torch
import torch.nn.functional as F

from mmdatasetdm.models.losses import ClassWeightedCrossEntropyLoss
from mmdatasetdm.registry import MODELS

WEIGHTS = [0.4, 1.3, 0.8, 4.0, 0.8, 3.5]


def test_matches_torch_on_labels_with_ignored_pixels():
    torch.manual_seed(0)
    score = torch.randn(2, 6, 8, 8)
    label = torch.randint(0, 6, (2, 8, 8))
    label[0, :3] = 255  # padding, as SegDataPreProcessor writes it
    # scoped: the suite's other tests may leave mmseg as the default scope
    loss = MODELS.build(dict(type='mmdatasetdm.ClassWeightedCrossEntropyLoss',
                             class_weight=WEIGHTS, loss_weight=2.0))
    expected = F.cross_entropy(score, label, weight=torch.tensor(WEIGHTS), ignore_index=255)
    assert loss(
        score, label, ignore_index=255).item() == pytest.approx(
            2 * expected.item(), rel=1e-5)
    # mmseg's own loss fails on the same input (the reason this class exists)
    from mmseg.models.losses import CrossEntropyLoss
    with pytest.raises(IndexError):
        CrossEntropyLoss(class_weight=WEIGHTS, avg_non_ignore=True)(score, label,
                                                                    ignore_index=255)


def test_gradient_favours_weighted_classes():
    score = torch.zeros(1, 6, 1, 2, requires_grad=True)
    label = torch.tensor([[[0, 3]]])
    ClassWeightedCrossEntropyLoss(class_weight=WEIGHTS)(score, label).backward()
    grad = score.grad[0, :, 0]
    # the cone pixel (weight 4.0) pulls 10x harder than the background one (0.4)
    assert (-grad[3, 1] / -grad[0, 0]).item() == pytest.approx(10.0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='needs class_weight'):
        ClassWeightedCrossEntropyLoss(class_weight=None)
    loss = ClassWeightedCrossEntropyLoss(class_weight=WEIGHTS[:3])
    with pytest.raises(ValueError, match='class_weight has 3 entries but the score map has 6'):
        loss(torch.zeros(1, 6, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
