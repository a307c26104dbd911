# RQ4's prompt-diversity ablation: prompts that only name a class ("a photo of a cone"), with
# no colours, other objects or grounds; everything else as generate_semantic.py.
_base_ = ['./generate_semantic.py']
prompts = dict(source=dict(_delete_=True, type='mmdatasetdm.TemplatePrompts',
                           classes=['person', 'car', 'cone', 'tree', 'ball'],
                           templates=['a photo of a {cls}']))
