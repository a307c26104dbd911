"""A decoder trained with hidden classes: the engine records which classes it saw."""
import pytest

from mmdatasetdm.fileio import read_manifest
from tests.test_generation.conftest import generate_cfg, make_engine


def test_the_manifest_records_seen_and_unseen_classes(tmp_path, semantic_checkpoint,
                                                      tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    cfg.decoder.cfg_options['unseen_classes'] = ['ball']
    engine = make_engine(cfg, num=2)
    assert engine.decoder.unseen_classes == ['ball']
    out = str(tmp_path / 'synth')
    engine.run(out, progress=False)
    engine.merge(out, card=False)
    for line in read_manifest(out):
        assert line['unseen_classes'] == ['ball']
        assert line['seen_classes'] == [c for c in engine.decoder.classes if c != 'ball']
    cfg.decoder.cfg_options['unseen_classes'] = ['dog']
    with pytest.raises(ValueError, match=r"unseen_classes \['dog'\] are not classes"):
        make_engine(cfg, num=2)
