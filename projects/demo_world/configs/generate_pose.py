# Generate the demo's synthetic keypoint set with the demo pose P-Decoder
# (pdecoder_pose.py) from the shared prompts (_base_/generate_demo.py).
_base_ = ['./_base_/generate_demo.py']
decoder = dict(
    config='projects/demo_world/configs/pdecoder_pose.py',
    checkpoint='work_dirs/demo_pose/pdecoder_pose/iter_1000.pth',
    cfg_options=dict(),
    # the tiny model's person word attends everywhere (no box from attention): the
    # decoder, trained on whole one-person images too, finds the person in the image
    pose_boxes='image')
task = 'pose'
# prompts about one person (the P-Decoder is top-down: the whole image is the person's box)
prompts = dict(source=dict(
    _delete_=True, type='DemoWorldPrompts', classes=['person'],
    templates=['a photo of a {cls} {ground}']))
# the written box: the labelled keypoints' extent x 1.1, the ratio of the real people's
# boxes to their keypoints' extent on train_100 (median 1.11 wide, 1.09 high)
filters = dict(min_score=0.3, min_keypoint_score=0.3, keypoint_box_scale=1.1)
num_samples = 400
out_dir = 'data/demo_synth_pose'
