# What every demo generation config shares: the shipped tiny SD model samples scenes from
# templates in the pool captions' words; each task's config adds its P-Decoder, filters and
# output folder. Prompts name demo-world classes, so the P-Decoders know the words to attend.
_colours = dict(
    person=('red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'white', 'black', 'grey'),
    car=('red', 'orange', 'yellow', 'green', 'blue', 'white', 'black', 'grey'),
    cone=('red', 'orange', 'yellow', 'green', 'blue', 'pink', 'white'),
    tree=('green', 'yellow', 'orange', 'red', 'brown', 'pink', 'white'),
    ball=('red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'white', 'black'))

_grounds = ['on grass', 'on sand', 'on a road', 'on dirt']
_others = ['two people', 'two cars', 'two cones', 'two trees', 'two balls', 'a person in blue',
           'a person in red', 'a white car', 'a red car', 'an orange cone', 'a white cone',
           'a green tree', 'a yellow tree', 'a red ball', 'a blue ball']
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=['person', 'car', 'cone', 'tree', 'ball'],
        templates=['a photo of {attr} {cls} {ground}',
                   'a photo of {attr} {cls} and {other} {ground}',
                   'a photo of {other}, {attr} {cls} and {other2} {ground}'],
        attributes=dict({c: [('an ' if x[0] in 'aeiou' else 'a ') + x for x in v]
                         for c, v in _colours.items() if c != 'person'}, person=['a']),
        class_names=dict(person=[f'person in {x}' for x in _colours['person']]),
        synonyms=dict(person=['people'], car=['cars'], cone=['cones'], tree=['trees'],
                      ball=['balls']),
        fields=dict(ground=_grounds, other=_others,
                    other2=_others)),
    seed=0)
sampling = dict(steps=20, guidance_scale=4.0, scheduler=dict(type='DPMSolverMultistepScheduler'))
writer = dict(image_ext='png', palette=None)
batch_size = 8
device = 'cpu'
