"""Each shim of mmdatasetdm.compat, with a check that fails without it."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner


class _Linear(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.linear(x)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, max_iters, resume=False):
    data = [dict(inputs=torch.tensor([float(i), 1.0])) for i in range(8)]
    return Runner(
        model=_Linear(), work_dir=work_dir, resume=resume, randomness=dict(seed=0),
        train_dataloader=dict(dataset=data, batch_size=2, collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)))


def test_runner_checkpoint_resumes_with_weights_only(tmp_path):
    import mmdatasetdm  # noqa: F401  (applies the shims)
    work = str(tmp_path)
    _runner(work, 2).train()
    ckpt = osp.join(work, 'iter_2.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []
    # without the allow-list, plain torch refuses the same checkpoint
    code = f'import torch; torch.load({ckpt!r}, map_location="cpu", weights_only=True)'
    plain = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert plain.returncode != 0 and 'Weights only load failed' in plain.stderr
    runner = _runner(work, 4, resume=True)
    runner.train()
    assert runner.iter == 4
    state = torch.load(osp.join(work, 'iter_4.pth'), map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 4
    assert 'train/loss' in state['message_hub']['log_scalars']


@pytest.mark.parametrize('with_shim', [False, True])
def test_history_buffer_pickles_without_getattr(tmp_path, with_shim):
    """Without the shim a HistoryBuffer needs ``builtins.getattr`` to unpickle."""
    path = tmp_path / 'buffer.pth'
    code = f"""
import torch
{'import mmdatasetdm' if with_shim else ''}
from mmengine.logging.history_buffer import HistoryBuffer
buf = HistoryBuffer(); buf.update(1.5); buf.update(2.5)
torch.save(dict(buf=buf), {str(path)!r})
print(sorted(torch.serialization.get_unsafe_globals_in_checkpoint({str(path)!r})))
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    unsafe = out.stdout.strip()
    if with_shim:
        assert 'getattr' not in unsafe
        import mmdatasetdm  # noqa: F401
        buf = torch.load(path, weights_only=True)['buf']
        assert buf.mean() == 2.0 and buf.statistics('max') == 2.5
    else:
        assert 'builtins.getattr' in unsafe


def _deform_attention():
    from mmcv.ops import MultiScaleDeformableAttention
    torch.manual_seed(0)
    return MultiScaleDeformableAttention(embed_dims=16, num_heads=2, num_levels=2, num_points=2,
                                         batch_first=True).eval()  # no dropout


def _deform_inputs():
    shapes = torch.tensor([[4, 4], [2, 2]])
    start = torch.tensor([0, 16])
    generator = torch.Generator().manual_seed(1)
    value = torch.randn(1, 20, 16, generator=generator)
    reference = torch.rand(1, 20, 2, 2, generator=generator)
    return dict(query=value, value=value, reference_points=reference, spatial_shapes=shapes,
                level_start_index=start)


def test_deform_attention_takes_the_pytorch_path_without_cuda_ops(monkeypatch):
    """mmcv calls its compiled CUDA kernel for any CUDA tensor when torch sees a GPU; with a
    CPU-ops mmcv (this install) that kernel is missing. Then mmcv's flag is set to the truth
    and every call takes mmcv's PyTorch path, with the same numbers; an mmcv with CUDA ops is
    left alone."""
    import mmcv.ops.multi_scale_deform_attn as msda
    from mmcv.ops import get_compiling_cuda_version

    from mmdatasetdm import compat
    assert compat.mmcv_has_cuda_ops() == (get_compiling_cuda_version() != 'not available')
    stock = _deform_attention()
    expected = stock(**_deform_inputs())
    seen = []
    pytorch_path = msda.multi_scale_deformable_attn_pytorch

    def spy(*args, **kwargs):
        seen.append(msda.IS_CUDA_AVAILABLE)
        return pytorch_path(*args, **kwargs)

    monkeypatch.setattr(msda, 'multi_scale_deformable_attn_pytorch', spy)
    monkeypatch.setattr(msda, 'IS_CUDA_AVAILABLE', True)  # as on a GPU machine
    monkeypatch.setattr(compat, 'mmcv_has_cuda_ops', lambda: True)
    assert not compat.use_pytorch_deform_attn_without_cuda_ops()
    assert msda.IS_CUDA_AVAILABLE is True  # a CUDA build keeps its kernels
    monkeypatch.setattr(compat, 'mmcv_has_cuda_ops', lambda: False)
    assert compat.use_pytorch_deform_attn_without_cuda_ops()
    assert msda.IS_CUDA_AVAILABLE is False  # no CUDA tensor reaches the missing kernel
    out = stock(**_deform_inputs())
    assert seen == [False] and torch.equal(out, expected)


def test_the_pixel_decoder_sets_up_the_pytorch_path(monkeypatch):
    import mmcv.ops.multi_scale_deform_attn as msda
    from mmengine.config import ConfigDict

    import mmdatasetdm  # noqa: F401
    from mmdatasetdm import compat
    from mmdatasetdm.models.necks import HypercolumnPixelDecoder
    monkeypatch.setattr(msda, 'IS_CUDA_AVAILABLE', True)
    monkeypatch.setattr(compat, 'mmcv_has_cuda_ops', lambda: False)
    HypercolumnPixelDecoder(
        in_channels=[8, 8], strides=[8, 16], feat_channels=16, out_channels=16,
        norm_cfg=dict(type='GN', num_groups=4),
        encoder=ConfigDict(num_layers=2, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=16, num_heads=2, num_levels=3),
            ffn_cfg=dict(embed_dims=16, feedforward_channels=32))),
        positional_encoding=dict(num_feats=8))
    assert msda.IS_CUDA_AVAILABLE is False
