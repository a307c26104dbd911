# The "real + synthetic" arm of the instance demo: the same Mask R-CNN, schedule and seed as
# inst_real_100.py, trained on the 100 labelled images plus the instances generated with the
# demo instance P-Decoder (tools/generate.py, task 'instance'), their categories mapped onto
# the world's classes by name. mmdet's ConcatDataset; the real set is repeated `times` times
# (the real:synthetic ratio: 4 x 100 real next to ~400 synthetic keeps about half of each
# batch real).
_base_ = ['./inst_real_100.py']
real_100 = dict(type='RepeatDataset', times=4, dataset=_base_.train_dataloader.dataset)
synthetic = dict(type='mmdatasetdm.SyntheticInstanceDataset', data_root='data/demo_synth_instance',
                 metainfo_from='mmdatasetdm.DemoWorldDetDataset',
                 filter_cfg=dict(filter_empty_gt=True), pipeline=_base_.train_pipeline)
train_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset',
                                     datasets=[real_100, synthetic]))
