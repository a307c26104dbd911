# Generate the demo's synthetic keypoint set with the demo pose P-Decoder
# (pdecoder_pose.py) from the shared prompts (_base_/generate_demo.py).
_base_ = ['./_base_/generate_demo.py']
decoder = dict(
    config='projects/demo_world/configs/pdecoder_pose.py',
    checkpoint='work_dirs/demo_pose/pdecoder_pose/iter_1000.pth',
    cfg_options=dict())
task = 'pose'
# prompts about one person (the P-Decoder is top-down: the whole image is the person's box)
prompts = dict(source=dict(
    _delete_=True, type='DemoWorldPrompts', classes=['person'],
    templates=['a photo of a {cls} {ground}']))
filters = dict(min_score=0.3, min_keypoint_score=0.3)
num_samples = 400
out_dir = 'data/demo_synth_pose'
