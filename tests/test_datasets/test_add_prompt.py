"""AddPrompt: the prompt a P-Decoder is trained with."""
import numpy as np
import pytest

from mmdatasetdm.datasets.transforms import AddPrompt

CLASSES = ('background', 'person', 'car', 'cone')


def _seg(ids):
    seg = np.zeros((4, 4), np.uint8)
    seg.flat[:len(ids)] = ids
    seg[3, 3] = 255  # ignored pixels are not a class
    return dict(gt_seg_map=seg, img_path='x.png')


def test_present_classes_in_class_id_order():
    out = AddPrompt(CLASSES)(_seg([3, 1, 0]))
    assert out['prompt'] == 'a photo of a person and cone'
    assert out['prompt_words'] == ['person', 'cone']
    assert AddPrompt(CLASSES)(_seg([0]))['prompt'] == 'a photo'
    assert AddPrompt(CLASSES, source='all')(_seg([0]))['prompt_words'] == ['person', 'car', 'cone']


def test_caption_names_the_classes_it_contains():
    out = AddPrompt(CLASSES, source='caption')(dict(caption='A red cone and a person on grass'))
    assert out['prompt'] == 'A red cone and a person on grass'
    assert out['prompt_words'] == ['person', 'cone']
    with pytest.raises(KeyError, match="found no 'caption' for y.png"):
        AddPrompt(CLASSES, source='caption')(dict(img_path='y.png'))


def test_word_dropout_leaves_classes_out_independently():
    transform = AddPrompt(CLASSES, word_dropout=0.5)
    np.random.seed(0)
    named = [transform(_seg([1, 2, 3]))['prompt_words'] for _ in range(2000)]
    for word in ('person', 'car', 'cone'):
        share = np.mean([word in words for words in named])
        assert 0.45 < share < 0.55, (word, share)
    assert 0.1 < np.mean([not words for words in named]) < 0.15  # 1/8 name nothing
    out = transform(_seg([1, 2, 3]))
    expected = 'a photo of a ' + ' and '.join(out['prompt_words']) if out['prompt_words'] \
        else 'a photo'
    assert out['prompt'] == expected
    np.random.seed(1)
    first = [transform(_seg([1, 2, 3]))['prompt'] for _ in range(20)]
    np.random.seed(1)
    assert [transform(_seg([1, 2, 3]))['prompt'] for _ in range(20)] == first  # seeded


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match=r'word_dropout must be in \[0, 1\), got 1.0'):
        AddPrompt(CLASSES, word_dropout=1.0)
    with pytest.raises(ValueError, match="not 'caption'"):
        AddPrompt(CLASSES, source='caption', word_dropout=0.2)
    with pytest.raises(ValueError, match='source must be one of'):
        AddPrompt(CLASSES, source='words')
    with pytest.raises(ValueError, match=r'label ids \[7\] of x.png are outside the 4 classes'):
        AddPrompt(CLASSES)(_seg([7]))
