# Generate the demo's synthetic semantic set: the shipped tiny SD model samples scenes
# from templates that name demo-world classes; the demo P-Decoder labels them.
decoder = dict(
    config='configs/demo/pdecoder_semantic.py',
    checkpoint='work_dirs/demo/pdecoder_semantic/iter_1000.pth',
    cfg_options=dict())
task = 'semantic'
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=['person', 'car', 'cone', 'tree', 'ball'],
        templates=['a photo of a {attr} {cls} on {ground}',
                   'a photo of a {attr} {cls} and a {cls2} on {ground}'],
        attributes=dict(car=['red', 'blue', 'white', ''], cone=['orange', 'white', ''],
                        ball=['red', 'yellow', ''], tree=['', 'pine']),
        fields=dict(ground=['grass', 'dirt', 'sand', 'asphalt'],
                    cls2=['person', 'car', 'cone', 'tree', 'ball'])),
    seed=0)
sampling = dict(steps=20, guidance_scale=4.0, scheduler=dict(type='DPMSolverMultistepScheduler'))
filters = dict(min_confidence=0.5, max_ignore_fraction=0.5, min_class_fraction=0.005)
writer = dict(image_ext='png', palette=None)
batch_size = 8
num_samples = 400
out_dir = 'data/demo_synth'
device = 'cpu'
