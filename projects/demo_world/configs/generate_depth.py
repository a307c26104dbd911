# Generate the demo's synthetic depth set with the demo depth P-Decoder
# (pdecoder_depth.py) from the shared prompts (_base_/generate_demo.py).
_base_ = ['./_base_/generate_demo.py']
decoder = dict(
    config='projects/demo_world/configs/pdecoder_depth.py',
    checkpoint='work_dirs/demo_depth/pdecoder_depth/iter_1000.pth',
    cfg_options=dict())
task = 'depth'
filters = dict(require_prompted=False)
num_samples = 400
out_dir = 'data/demo_synth_depth'
