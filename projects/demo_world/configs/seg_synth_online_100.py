# The "real + synthetic" arm of the demo with online generation: the downstream segmentor of
# seg_real_100.py trained on the 100 labelled images plus synthetic samples that the demo
# generator (generate_semantic.py, the demo P-Decoder) writes while the model trains, instead
# of the fixed 400-sample set of seg_synth_100.py. Every streamed sample is read once.
#
# OnlineGenerationHook starts `tools/generate.py generate_semantic.py --stream` beside the
# training job; to run the generator elsewhere (another GPU, a Slurm job on a shared
# filesystem) set the hook's start=False and run, with the same config,
#   python tools/generate.py projects/demo_world/configs/generate_semantic.py --stream \
#       --out work_dirs/demo/stream_semantic --window 64 --num 12000 [--device cuda:1]
#
# Mixing: StreamSampler shuffles the real images (a new permutation each pass, i.e. the real
# set repeated as often as needed) with the stream taken in increasing blocks of 32 samples,
# real_ratio real samples per streamed one: 1.0 gives the half-real batches of
# seg_synth_100.py (RepeatDataset times=4: 400 real next to 400 synthetic).
_base_ = ['./seg_real_100.py']
stream_dir = 'work_dirs/demo/stream_semantic'
window = 64  # accepted samples the generator may run ahead of the training job
# one pass: max_iters (3000) x batch_size (8) x 1/2 streamed
stream_samples = 12000
real_100 = _base_.train_dataloader.dataset
synthetic = dict(
    type='mmdatasetdm.StreamingSyntheticDataset',
    stream_dir=stream_dir,
    num_samples=stream_samples,
    window=window,
    timeout=1800,
    dataset=dict(type='mmdatasetdm.SyntheticSegDataset',
                 metainfo_from='mmdatasetdm.DemoWorldSegDataset',
                 pipeline=_base_.train_pipeline))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='mmdatasetdm.StreamSampler', real_ratio=1.0),
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[real_100, synthetic]))
custom_hooks = [
    dict(type='mmdatasetdm.OnlineGenerationHook',
         config='projects/demo_world/configs/generate_semantic.py',
         device='cpu',
         env=dict(OMP_NUM_THREADS='1'))
]
