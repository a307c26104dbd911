"""Mixed-precision P-Decoder training: ``tools/train.py --amp`` switches the config to
mmengine's ``AmpOptimWrapper``, and the P-Decoders (hypercolumn fusion, deformable encoder,
Mask2Former matching and losses, depth and heatmap heads) train under its autocast. mmengine
allows that wrapper only where a GPU is visible; here its device check is answered as on a GPU
and autocast runs on the CPU in bfloat16 (torch's CPU autocast dtype)."""
import pytest
import torch
from mmengine.runner import Runner

from tests.pdecoder_cfg import tiny_pdecoder_cfg
from tests.tool_module import load_tool
from tests.toy_data import make_toy_coco_instance_dataset, make_toy_seg_dataset


def _amp_on_this_cpu(monkeypatch):
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)


def _parsed(argv, monkeypatch):
    train = load_tool('tools/train.py')
    monkeypatch.setattr('sys.argv', ['train.py', *argv])
    return train, train.parse_args()


@pytest.mark.parametrize('config, task', [('pdecoder/semantic_tiny.py', 'semantic'),
                                          ('pdecoder/instance_tiny.py', 'instance')])
def test_amp_training_in_bfloat16(tmp_path, tiny_sd_folder, monkeypatch, config, task):
    _amp_on_this_cpu(monkeypatch)
    if task == 'semantic':
        root, ann = make_toy_seg_dataset(str(tmp_path / 'data'), num=4, size=128), None
    else:
        root, ann = make_toy_coco_instance_dataset(str(tmp_path / 'data'), num=4, size=128), \
            'annotations/instances.json'
    cfg = tiny_pdecoder_cfg(config, root, str(tmp_path / 'work'), tiny_sd_folder, max_iters=3,
                            ann_file=ann)
    train, args = _parsed([f'configs/{config}', '--amp'], monkeypatch)
    amp_cfg = train.build_config(args)
    assert amp_cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert amp_cfg.optim_wrapper.loss_scale == 'dynamic'
    cfg.optim_wrapper = dict(amp_cfg.optim_wrapper, dtype='bfloat16')

    seen = []
    runner = Runner.from_cfg(cfg)
    head = runner.model.decode_head if task == 'semantic' else runner.model.panoptic_head
    hook = head.pixel_decoder.hypercolumn.output_convs[0].conv.register_forward_hook(
        lambda module, args, out: seen.append(out.dtype) if module.training else None)
    before = {k: v.clone() for k, v in head.state_dict().items()}
    runner.train()
    hook.remove()
    assert type(runner.optim_wrapper).__name__ == 'AmpOptimWrapper'
    # the decoder's convolutions ran in bf16 in all 3 training iterations (validation: fp32)
    assert seen == [torch.bfloat16] * 3
    after = head.state_dict()
    assert all(after[k].dtype == before[k].dtype for k in before)  # master weights stay fp32
    changed = [k for k in before if before[k].is_floating_point()
               and not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
