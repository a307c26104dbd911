# The "real + synthetic" arm of the demo: the same downstream segmentor, schedule and seed
# as seg_real_100.py, trained on the 100 labelled images plus the synthetic set made by
# tools/generate.py projects/demo_world/configs/generate_semantic.py. The real set is
# repeated 4 times (400 real samples next to 400 synthetic per pass), so about half of each
# batch is real; `times` sets the real:synthetic ratio.
_base_ = ['./seg_real_100.py']
real_100 = dict(type='RepeatDataset', times=4, dataset=_base_.train_dataloader.dataset)
synthetic = dict(type='mmdatasetdm.SyntheticSegDataset', data_root='data/demo_synth',
                 metainfo_from='mmdatasetdm.DemoWorldSegDataset',
                 pipeline=_base_.train_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[real_100, synthetic]))
