"""A trained segmentor's predictions on a generated set, for the agreement filter.

:func:`write_seg_predictions` runs an MMSegmentation model over the accepted images of a
generated set and writes its class ids beside the set, in a folder of their own (the format:
:mod:`mmdatasetdm.fileio.synthetic_format`). :class:`~mmdatasetdm.datasets.SyntheticSegDataset`
with ``agreement_root`` then ignores the pixels where the generated label and the prediction
disagree (:class:`~mmdatasetdm.datasets.transforms.IgnoreDisagreement`).
"""
import os.path as osp
from typing import Optional

from mmdatasetdm.fileio import (MANIFEST, PREDICTIONS_IDENTITY, PREDICTIONS_META,
                                PREDICTIONS_VERSION, atomic_write_json, file_sha256, read_json,
                                read_manifest, read_predictions_meta, sample_file, write_semantic)


def predictions_identity(data_root: str, checkpoint: str, classes) -> dict:
    """The keys that say which set and which model a predictions folder belongs to."""
    return dict(format_version=PREDICTIONS_VERSION,
                source_manifest_sha256=file_sha256(osp.join(data_root, MANIFEST)),
                checkpoint_sha256=file_sha256(checkpoint), classes=list(classes))


def write_seg_predictions(data_root: str, config, checkpoint: str, out_dir: str,
                          device: str = 'cpu', batch_size: int = 16,
                          progress: bool = True, model=None) -> int:
    """Write a segmentor's class ids for every accepted image of a generated set.

    Resumable: the samples whose prediction exists are skipped. A folder that holds the
    predictions of another set or model is refused (nothing in it is overwritten).

    Args:
        data_root (str): the generated set.
        config (str | Config): the segmentor's config (its ``test_pipeline`` reads the
            images).
        checkpoint (str): the segmentor's weights.
        out_dir (str): the predictions folder (created; outside the set).
        device (str): where the model runs.
        batch_size (int): images per forward pass.
        progress (bool): show a progress bar.
        model (nn.Module, optional): the segmentor already built from ``config`` and
            ``checkpoint`` (tests); default: ``mmseg.apis.init_model``.

    Returns:
        int: the predictions written by this call.
    """
    from mmengine.utils import ProgressBar
    from mmseg.apis import inference_model, init_model
    data_root, out_dir = osp.abspath(data_root), osp.abspath(out_dir)
    if out_dir == data_root or out_dir.startswith(data_root + osp.sep):
        raise ValueError(f'{out_dir}: write the predictions outside the generated set '
                         f'{data_root} (a set holds only what its generation run wrote)')
    lines = read_manifest(data_root, accepted_only=True, check_files=True)
    if model is None:
        model = init_model(config, checkpoint, device=device)
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    if not classes:
        raise ValueError(f'{checkpoint}: the checkpoint records no dataset_meta classes, so '
                         'its class ids cannot be matched to the set\'s labels')
    config_file = config if isinstance(config, str) else getattr(config, 'filename', None)
    meta = dict(predictions_identity(data_root, checkpoint, classes), source=data_root,
                config=config_file and osp.abspath(config_file),
                checkpoint=osp.abspath(checkpoint))
    meta_path = osp.join(out_dir, PREDICTIONS_META)
    if osp.isfile(meta_path):
        old = read_json(meta_path)
        changed = [k for k in PREDICTIONS_IDENTITY if old.get(k) != meta[k]]
        if changed:
            raise ValueError(f'{meta_path}: {out_dir} holds predictions of another set or model '
                             f'({", ".join(changed)} differ); choose another output folder')
    else:
        atomic_write_json(meta_path, meta)  # first: it names what the folder holds
    todo = [line for line in lines if not osp.isfile(
        osp.join(out_dir, sample_file('semantic', line['index'], 'png')))]
    bar = ProgressBar(len(todo)) if progress and todo else None
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        results = inference_model(model, [osp.join(data_root, line['files']['image'])
                                          for line in batch])
        for line, result in zip(batch, results):  # a list in, a list out
            labels = result.pred_sem_seg.data[0].cpu().numpy()
            write_semantic(osp.join(out_dir, sample_file('semantic', line['index'], 'png')),
                           labels, num_classes=len(classes))
            if bar is not None:
                bar.update()
    return len(todo)


def read_seg_predictions_meta(folder: str, data_root: str,
                              classes: Optional[list] = None) -> dict:
    """The ``predictions.json`` of ``folder``, checked to belong to the set ``data_root`` (and
    to a model of ``classes``)."""
    meta = read_predictions_meta(folder)
    path = osp.join(folder, PREDICTIONS_META)
    manifest = osp.join(data_root, MANIFEST)
    if meta['source_manifest_sha256'] != file_sha256(manifest):
        raise ValueError(f'{path}: these predictions were made on another set (their '
                         f'manifest sha256 differs from {manifest}); write them for this set '
                         'with tools/predict_synthetic.py')
    if classes is not None and list(meta['classes']) != list(classes):
        raise ValueError(f'{path}: the predicting model\'s classes {meta["classes"]} are not the '
                         f'dataset\'s {list(classes)}')
    return meta
