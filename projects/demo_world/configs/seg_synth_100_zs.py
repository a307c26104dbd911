# Zero-shot mixed arm: the 100 real images with cones and balls hidden (seg_real_100_zs.py),
# repeated 4 times, beside the synthetic set labelled by the zero-shot P-Decoder
# (generate_semantic_zs.py), whose labels do include cones and balls.
_base_ = ['./seg_real_100_zs.py']
real_100 = dict(type='RepeatDataset', times=4, dataset=_base_.train_dataloader.dataset)
synthetic = dict(type='mmdatasetdm.SyntheticSegDataset', data_root='data/demo_synth_zs',
                 metainfo_from='mmdatasetdm.DemoWorldSegDataset',
                 pipeline=_base_.train_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[real_100, synthetic]))
