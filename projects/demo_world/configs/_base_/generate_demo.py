# What every demo generation config shares: the shipped tiny SD model samples scenes from
# templates in the pool captions' words; each task's config adds its P-Decoder, filters and
# output folder. Prompts name demo-world classes, so the P-Decoders know the words to attend.
custom_imports = dict(imports=['mmdatasetdm', 'projects.demo_world.demo_world'],
                      allow_failed_imports=False)
_others = ['two people', 'two cars', 'two cones', 'two trees', 'two balls', 'a person in blue',
           'a person in red', 'a white car', 'a red car', 'an orange cone', 'a white cone',
           'a green tree', 'a yellow tree', 'a red ball', 'a blue ball']
# DemoWorldPrompts fills {cls}, {attr} (a colour the class comes in) and {ground} with the
# world's own caption words (projects/demo_world/demo_world/prompts.py)
prompts = dict(
    source=dict(
        type='DemoWorldPrompts',
        templates=['a photo of {attr} {cls} {ground}',
                   'a photo of {attr} {cls} and {other} {ground}',
                   'a photo of {other}, {attr} {cls} and {other2} {ground}'],
        other=_others, other2=_others),
    seed=0)
sampling = dict(steps=20, guidance_scale=4.0, scheduler=dict(type='DPMSolverMultistepScheduler'))
writer = dict(image_ext='png', palette=None)
batch_size = 8
device = 'cpu'
