# Generate a semantic dataset with the tiny semantic P-Decoder (tests and demo
# plumbing). Point decoder.checkpoint / the SD folder at real files with
# --cfg-options, e.g. decoder.checkpoint=work_dirs/semantic_tiny/iter_300.pth
decoder = dict(
    config='configs/pdecoder/semantic_tiny.py',
    checkpoint='work_dirs/semantic_tiny/iter_300.pth',
    cfg_options=dict())
task = 'semantic'
prompts = dict(
    source=dict(type='TemplatePrompts', classes=['cone', 'ball'],
                templates=['a photo of a {attr} {cls}', 'a {attr} {cls} on grass'],
                attributes=dict(cone=['red', ''], ball=['blue', ''])),
    seed=0)
sampling = dict(steps=4, guidance_scale=3.0, scheduler=dict(type='DDIMScheduler'))
# keep every sample: the tiny decoders of the tests are trained a few iterations
filters = dict(min_confidence=0.0, min_class_fraction=0.0, require_prompted=False)
writer = dict(image_ext='png', palette=None)
batch_size = 2
num_samples = 8
out_dir = 'work_dirs/generated/semantic_tiny'
device = 'cpu'
