"""tools/analysis_tools/gpu_report.py: the sections, the projections, the targets, and a
smoke run on the CPU (its figures mean nothing; on a GPU the same command measures)."""
import json
import subprocess
import sys

import pytest

from tests.tool_module import load_tool

TOOL = 'tools/analysis_tools/gpu_report.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_pdecoder_projection(tool):
    schedule = tool.pdecoder_schedule()
    # semantic_voc_100.py: 20000 iterations at batch 2
    assert schedule == dict(config='configs/pdecoder/semantic_voc_100.py', max_iters=20000,
                            batch_size=2)
    # 2 iterations/s at batch 8 = 16 images/s; 40000 images take 2500 s
    assert tool.project_pdecoder(2.0, 8, schedule) == pytest.approx(2500 / 3600)


def test_targets_met_missed_and_not_measured(tool):
    report = dict(sections=dict(
        generation=dict(ok=True, ratio=1.2, annotated_img_per_s=3.5, total_ratio=1.10),
        pdecoder=dict(ok=False, error='RuntimeError: boom')))
    rows = {r['key']: r for r in tool.check_targets(report)}
    assert rows['generation.ratio']['met'] is False
    assert rows['generation.ratio']['distance'] == pytest.approx(0.15)
    assert rows['generation.annotated_img_per_s']['met'] is True
    assert rows['generation.annotated_img_per_s']['distance'] == pytest.approx(0.5)
    assert rows['generation.total_ratio']['met'] is True  # the bound itself is met
    assert rows['pdecoder.gpu_hours']['met'] is None and rows['pdecoder.gpu_hours']['value'] is None


def test_mmcv_ops_on_the_cpu(tool):
    ops = tool.compare_ops('cpu')
    assert ops['roi_align']['ok'] and ops['roi_align']['max_abs_diff'] == 0.0
    assert ops['nms']['ok'] and 0 < ops['nms']['kept'] < 200
    # no CPU kernel for deformable attention: the reference ran, the comparison is skipped
    assert ops['ms_deform_attn']['ok'] is None and ops['ms_deform_attn']['output_abs_sum'] > 0


@pytest.mark.slow
def test_quick_report_records_each_section_and_a_failure(tmp_path):
    out = tmp_path / 'report.json'
    proc = subprocess.run(
        [sys.executable, TOOL, '--quick', '--out', str(out), '--work-dir', str(tmp_path / 'w'),
         '--sections', 'env', 'mmcv_ops', 'generation', 'pdecoder'],
        capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    sections = report['sections']
    assert all(s['ok'] for s in sections.values()), sections
    assert sections['env']['cuda_available'] is False and sections['env']['mmcv'] == '2.1.0'
    gen = sections['generation']
    assert (gen['batch'], gen['steps'], gen['size'], gen['task']) == (2, 2, 64, 'semantic')
    assert gen['scheduler'] == 'DPMSolverMultistepScheduler'
    assert gen['annotated_img_per_s'] == pytest.approx(2 / gen['annotated_s'], rel=1e-2)
    assert gen['ratio'] == pytest.approx(gen['annotated_s'] / gen['plain_s'], rel=1e-3)
    pdecoder = sections['pdecoder']
    assert set(pdecoder['iters_per_s']) == {'uncached', 'cached'}
    assert pdecoder['gpu_hours'] == min(pdecoder['gpu_hours_by_run'].values())
    targets = {t['key']: t for t in report['targets']}
    assert targets['generation.ratio']['value'] == gen['ratio']
    assert targets['pdecoder.gpu_hours']['value'] == pdecoder['gpu_hours']
    assert 'target annotated / plain time <= 1.05' in proc.stdout

    # a section that fails is recorded with its error; the others still run; exit 1
    proc = subprocess.run(
        [sys.executable, TOOL, '--quick', '--out', str(out), '--work-dir', str(tmp_path / 'w'),
         '--dtype', 'fp8', '--sections', 'generation', 'env'],
        capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 1
    report = json.loads(out.read_text())
    assert report['sections']['generation']['ok'] is False
    assert 'fp8' in report['sections']['generation']['error']
    assert report['sections']['env']['ok'] is True
    assert 'sections failed: [\'generation\']' in proc.stderr
