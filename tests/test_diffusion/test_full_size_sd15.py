"""Full-size SD-1.5 UNet (random weights, CPU): shapes and memory of capture."""
import json
import os.path as osp
import subprocess
import sys

import pytest

SCRIPT = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools', 'benchmark_capture_memory.py')


def _run(capture):
    out = subprocess.run([sys.executable, SCRIPT, '--capture', capture, '--size', '512'],
                         capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sd15_feature_shapes_and_capture_memory():
    on = _run('on')
    off = _run('off')
    print(
        f"\npeak RSS with capture: {on['peak_rss_mib']} MiB, without: {off['peak_rss_mib']} MiB "
        f"(captured tensors {on['captured_mib']} MiB; "
        f"UNet {on['unet_parameters'] / 1e6:.0f}M params)"
    )
    assert on['unet_parameters'] == off['unet_parameters'] > 800_000_000
    assert on['levels'] == [['up_blocks.3', 8, 320, 64, 64], ['up_blocks.2', 16, 640, 32, 32],
                            ['up_blocks.1', 32, 1280, 16, 16], ['up_blocks.0', 64, 1280, 8, 8]]
    assert on['attention'] == {'8': [77, 64, 64], '16': [77, 32, 32], '32': [77, 16, 16],
                               '64': [77, 8, 8]}
    # One self-attention map of one 64x64 layer alone is 8 heads x 4096^2 floats = 512 MiB;
    # capture must add far less than that (it keeps ~26 MiB of features and maps).
    assert on['captured_mib'] < 40
    assert on['peak_rss_mib'] - off['peak_rss_mib'] < 256
