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
