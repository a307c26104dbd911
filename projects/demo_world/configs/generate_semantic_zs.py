# The synthetic set of the zero-shot setting: prompts name every class, cones and balls too,
# and the zero-shot P-Decoder (trained without their labels) labels them from their words'
# cross-attention. The manifest records the seen and unseen classes.
_base_ = ['./generate_semantic.py']
decoder = dict(config='projects/demo_world/configs/pdecoder_semantic_zs.py',
               checkpoint='work_dirs/demo_zs/pdecoder_semantic_zs/iter_1000.pth')
out_dir = 'data/demo_synth_zs'
