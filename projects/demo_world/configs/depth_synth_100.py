# The "real + synthetic" arm of the depth demo: the same depth estimator, schedule and seed
# as depth_real_100.py, trained on the 100 labelled images plus the depth maps generated with
# the demo depth P-Decoder (tools/generate.py, task 'depth'). mmengine's ConcatDataset needs
# equal metainfo, so the synthetic set takes the world's; it checks that its pipeline's
# depth_rescale_factor undoes the generator's depth_scale. The real set is repeated 4 times
# (the real:synthetic ratio: about half of each batch real next to ~400 synthetic).
_base_ = ['./depth_real_100.py']
real_100 = dict(type='RepeatDataset', times=4, dataset=_base_.train_dataloader.dataset)
synthetic = dict(type='mmdatasetdm.SyntheticDepthDataset', data_root='data/demo_synth_depth',
                 metainfo_from='mmdatasetdm.DemoWorldDepthDataset',
                 pipeline=_base_.train_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[real_100, synthetic]))
