"""The agreement filter: a segmentor's predictions on a generated set
(tools/predict_synthetic.py) and SyntheticSegDataset(agreement_root=...)."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmdatasetdm.datasets.seg_predictions import predictions_identity, write_seg_predictions
from mmdatasetdm.fileio import atomic_write_json, read_semantic, sample_file, write_semantic
from mmdatasetdm.generation import ShardWriter, merge_shards
from mmdatasetdm.generation.prompts import PromptRecord

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
REAL = dict(classes=('background', 'ball', 'cone', 'tree'),
            palette=[[0, 0, 0], [0, 0, 255], [255, 0, 0], [0, 255, 0]])
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]
SEG_CONFIG = 'projects/demo_world/configs/seg_real_100.py'


def _generated(root, num=2):
    """Generator ids: cone (1) on the top half, ball (2) bottom left, background bottom right;
    every prompt names the cone only."""
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'),
                         classes=('background', 'cone', 'ball'), num_classes=3)
    rng = np.random.default_rng(0)
    for i in range(num):
        labels = np.zeros((16, 16), np.uint8)
        labels[:8] = 1
        labels[8:, :8] = 2
        labels[0, 0] = 255
        writer.write_sample(i, PromptRecord(i, f'a photo of a cone {i}', ('cone', ), seed=i),
                            image=rng.integers(0, 255, (16, 16, 3), dtype=np.uint8),
                            semantic=labels)
    merge_shards([writer.dir], root)
    return root


def _predictions(folder, root, checkpoint, classes=REAL['classes']):
    """Predictions in the real ids (cone 2, ball 1, tree 3): cone on the top-left quarter,
    tree bottom left, background elsewhere, as tools/predict_synthetic.py lays them out."""
    with open(checkpoint, 'wb') as f:
        f.write(b'weights')
    atomic_write_json(osp.join(folder, 'predictions.json'),
                      predictions_identity(root, checkpoint, classes))
    predicted = np.zeros((16, 16), np.uint8)
    predicted[:8, :8] = 2
    predicted[8:, :8] = 3
    for i in range(2):
        write_semantic(osp.join(folder, sample_file('semantic', i, 'png')), predicted)
    return folder


def _dataset(root, **kw):
    init_default_scope('mmseg')
    from mmdatasetdm.registry import DATASETS
    kw.setdefault('pipeline', PIPELINE)
    return DATASETS.build(dict(type='mmdatasetdm.SyntheticSegDataset', data_root=root,
                               metainfo=REAL, **kw))


def _labels(ds, i=0):
    return ds[i]['data_samples'].gt_sem_seg.data.numpy()[0]


def test_disagreeing_pixels_are_ignored_or_kept_for_the_prompted_classes(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    preds = _predictions(str(tmp_path / 'preds'), root, str(tmp_path / 'model.pth'))
    full = _labels(_dataset(root))
    assert full[0, 1] == 2 and full[12, 2] == 1 and full[12, 12] == 0 and full[0, 0] == 255

    ds = _dataset(root, agreement_root=preds, agreement_keeps_prompted=True)
    assert [type(t).__name__ for t in ds.pipeline.transforms][:3] == [
        'LoadImageFromFile', 'LoadAnnotations', 'IgnoreDisagreement']
    assert ds.get_data_info(1)['agreement_keep_ids'] == [2]  # the prompted cone, in real ids
    kept = _labels(ds, 1)
    expected = full.copy()
    expected[8:, :8] = 255  # ball, predicted tree: ignored; the cone is kept wherever predicted
    np.testing.assert_array_equal(kept, expected)

    strict_ds = _dataset(root, agreement_root=preds)  # the default: every disagreement ignored
    assert strict_ds.get_data_info(1)['agreement_keep_ids'] == []
    strict = _labels(strict_ds, 1)
    expected[:8, 8:] = 255  # now the cone the model calls background goes too
    np.testing.assert_array_equal(strict, expected)
    assert (strict[:8, :8] == 2).sum() == 63  # the agreed cone quarter (but the ignored corner)


def test_predictions_of_another_set_or_classes_are_refused(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    other = _generated(str(tmp_path / 'other'), num=3)
    preds = _predictions(str(tmp_path / 'preds'), other, str(tmp_path / 'model.pth'))
    with pytest.raises(ValueError, match=r'preds/predictions\.json: these predictions were made '
                       r'on another set'):
        _dataset(root, agreement_root=preds)
    wrong = _predictions(str(tmp_path / 'wrong'), root, str(tmp_path / 'model.pth'),
                         classes=('background', 'cone'))
    with pytest.raises(ValueError, match=r"model's classes \['background', 'cone'\] are not the "
                       "dataset's"):
        _dataset(root, agreement_root=wrong)
    partial = _predictions(str(tmp_path / 'partial'), root, str(tmp_path / 'model.pth'))
    missing = osp.join(partial, sample_file('semantic', 1, 'png'))
    os.remove(missing)
    with pytest.raises(FileNotFoundError, match=rf'{missing} is missing.*sample 1 of'):
        _dataset(root, agreement_root=partial)
    with pytest.raises(FileNotFoundError, match=r'nothing/predictions\.json is missing'):
        _dataset(root, agreement_root=str(tmp_path / 'nothing'))


# the demo segmentor with REAL's four classes (command-line options)
FOUR_CLASSES = ['model.decode_head.num_classes=4',
                'model.decode_head.loss_decode.class_weight=[1.0,1.0,1.0,1.0]']


def _segmentor():
    from mmengine.config import Config
    from mmseg.apis import init_model
    cfg = Config.fromfile(osp.join(ROOT, SEG_CONFIG))
    cfg.merge_from_dict({'model.decode_head.num_classes': 4,
                         'model.decode_head.loss_decode.class_weight': [1.0] * 4})
    model = init_model(cfg, device='cpu')
    model.dataset_meta = dict(REAL)
    return model


def test_predictions_are_the_models_resume_and_refuse_another_model(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    model = _segmentor()
    checkpoint = str(tmp_path / 'model.pth')
    with open(checkpoint, 'wb') as f:
        f.write(b'weights')
    out = str(tmp_path / 'preds')
    assert write_seg_predictions(root, SEG_CONFIG, checkpoint, out, progress=False,
                                 model=model) == 2
    from mmseg.apis import inference_model
    expected = inference_model(model, osp.join(root, 'images', '00000001.png'))
    np.testing.assert_array_equal(read_semantic(osp.join(out, 'semantic', '00000001.png')),
                                  expected.pred_sem_seg.data[0].numpy())
    # a rerun resumes (nothing left), the dataset accepts the folder
    assert write_seg_predictions(root, SEG_CONFIG, checkpoint, out, progress=False,
                                 model=model) == 0
    assert len(_dataset(root, agreement_root=out)) == 2
    # another checkpoint in the same folder: refused, nothing overwritten
    before = open(osp.join(out, 'predictions.json')).read()
    with open(checkpoint, 'wb') as f:
        f.write(b'other weights')
    with pytest.raises(ValueError, match=r'predictions of another set or model '
                       r'\(checkpoint_sha256 differ\)'):
        write_seg_predictions(root, SEG_CONFIG, checkpoint, out, progress=False, model=model)
    assert open(osp.join(out, 'predictions.json')).read() == before
    with pytest.raises(ValueError, match='outside the generated set'):
        write_seg_predictions(root, SEG_CONFIG, checkpoint, osp.join(root, 'preds'),
                              progress=False, model=model)


def test_the_command_line_writes_predictions_from_a_checkpoint(tmp_path):
    """tools/predict_synthetic.py with a checkpoint saved the way mmengine's Runner saves it
    (its dataset_meta names the classes)."""
    import torch
    root = _generated(str(tmp_path / 'gen'))
    model = _segmentor()
    checkpoint = str(tmp_path / 'iter_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(REAL))),
               checkpoint)
    out = str(tmp_path / 'preds')
    run = subprocess.run([sys.executable, 'tools/predict_synthetic.py', root, SEG_CONFIG,
                          checkpoint, '--out', out, '--cfg-options'] + FOUR_CLASSES, cwd=ROOT,
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stderr[-3000:]
    assert f'2 predictions written to {out}' in run.stdout
    assert len(_dataset(root, agreement_root=out)) == 2
