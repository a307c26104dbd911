# Generate the demo's synthetic instance set with the demo instance P-Decoder
# (pdecoder_instance.py) from the shared prompts (_base_/generate_demo.py).
_base_ = ['./_base_/generate_demo.py']
decoder = dict(
    config='projects/demo_world/configs/pdecoder_instance.py',
    checkpoint='work_dirs/demo_instance/pdecoder_instance/iter_1000.pth',
    cfg_options=dict())
task = 'instance'
filters = dict(min_score=0.5, min_area=12)
num_samples = 400
out_dir = 'data/demo_synth_instance'
