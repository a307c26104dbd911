# Generate the demo's synthetic semantic set: the demo P-Decoder labels the scenes the
# shipped tiny SD model samples from the shared prompts (_base_/generate_demo.py).
_base_ = ['./_base_/generate_demo.py']
decoder = dict(
    config='projects/demo_world/configs/pdecoder_semantic.py',
    checkpoint='work_dirs/demo/pdecoder_semantic/iter_1000.pth',
    cfg_options=dict())
task = 'semantic'
filters = dict(min_confidence=0.5, max_ignore_fraction=0.5, min_class_fraction=0.005)
num_samples = 400
out_dir = 'data/demo_synth'
