"""tools/analysis_tools/rehearse_real_scale.py: the real-data chain at Stable Diffusion's real
architecture (random weights) on the demo world written in the real datasets' layouts."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from tests.tool_module import load_tool

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'rehearse_real_scale.py')
CHAIN = ['model', 'data', 'layout', 'fewshot', 'pdecoder', 'generate', 'load_generated',
         'downstream', 'test']


def _rehearse(tmp_path, *args):
    report = tmp_path / 'report.json'
    out = subprocess.run([sys.executable, TOOL, '--work-dir', str(tmp_path / 'work'), '--json',
                          str(report), *args], capture_output=True, text=True, timeout=3000)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'the metric values of this rehearsal mean nothing' in out.stdout
    return json.loads(report.read_text()), out.stdout


def _stage_names(report, task):
    return [r['stage'].split('/')[-1] for r in report['stages']
            if r['stage'] == 'model' or r['stage'].startswith(task + '/')]


def test_changed_keys_and_refusals(tmp_path):
    tool = load_tool('tools/analysis_tools/rehearse_real_scale.py')
    before = dict(a=1, b=dict(c=2, d=[1]))
    after = dict(a=1, b=dict(c=3, d=[1, 2]), e=0)
    assert tool._changed_keys(before, after) == ['b.c', 'b.d', 'e']
    assert tool._pose_size(128) == (64, 128) and tool._pose_size(256) == (192, 256)
    assert tool._pose_size(64) == (64, 64)
    with pytest.raises(SystemExit):
        tool.parse_args(['--size', '100'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--dist-ranks', '0'])
    args = tool.parse_args(['--dist-ranks', '1', '--device', 'cuda', '--model', 'sd'])
    assert (args.dist_ranks, args.device, args.model) == (1, 'cuda', 'sd')
    with pytest.raises(SystemExit, match='inside the repository'):
        tool.main(['--work-dir', osp.join(ROOT, 'work_dirs', 'rehearsal')])


@pytest.mark.slow
def test_semantic_chain_at_sd15_architecture(tmp_path):
    """The flagship chain: SD-1.5's 859.5 M-parameter UNet, VOC2012 layout, few-shot split,
    P-Decoder, generation with 1 process and 2 ranks (identical sets), the stock DeepLabV3 on
    real + synthetic, tools/test.py with IoUMetric."""
    report, stdout = _rehearse(tmp_path, '--task', 'semantic')
    names = _stage_names(report, 'semantic')
    assert names == CHAIN[:6] + ['generate_dist'] + CHAIN[6:]
    assert all(r['seconds'] > 0 and r['peak_rss_mib'] > 0 for r in report['stages'])
    model = next(r for r in report['stages'] if r['stage'] == 'model')
    params = json.loads(model['last_line'])['parameters']
    assert params['unet'] == 859_520_964 and params['vae'] == 83_653_863
    result = report['results']['semantic']
    assert result['synthetic']['accepted'] == 4 and result['synthetic']['same_across_ranks']
    assert result['synthetic']['files'] == 8  # an image and a mask per sample, decoded
    assert set(result['metrics']) >= {'aAcc', 'mIoU', 'mAcc'}
    assert 'model.backbone.pretrained' in result['changes']['pdecoder']
    assert 'decoder.checkpoint' in result['changes']['generate']
    assert 'identical from 1 process and 2 ranks' in stdout


@pytest.mark.slow
@pytest.mark.parametrize('task, metric', [('instance', 'coco/segm_mAP'),
                                          ('pose', 'coco/AP'),
                                          ('depth', 'abs_rel')])
def test_other_chains_at_sd15_architecture(tmp_path, task, metric):
    report, _ = _rehearse(tmp_path, '--task', task, '--no-dist')
    assert _stage_names(report, task) == CHAIN
    result = report['results'][task]
    assert result['synthetic']['accepted'] >= 1
    assert metric in result['metrics']
