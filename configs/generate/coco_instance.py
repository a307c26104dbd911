# Generate DatasetDM's synthetic COCO instance set (configs/coco_inst_synth_800.py reads it from
# data/synthetic/coco) with the COCO-800 instance P-Decoder
# (configs/pdecoder/instance_coco_800.py):
#
#   python tools/generate.py configs/generate/coco_instance.py
#   bash tools/dist_generate.sh configs/generate/coco_instance.py 8
#
# Each prompt asks for one of COCO's 80 classes, exactly balanced over the classes (COCO's
# real counts are long-tailed: class_sampling=dict(class_counts=..., power=...) follows or
# flattens them), with a sub-type or look of the object ({attr}) and a setting ({scene}).
# configs/generate/coco_instance_llm.py prompts with the caption-like lines of
# configs/generate/prompts/coco_instance.txt instead.
_base_ = ['./_base_/sd15_sampling.py']
# The last checkpoint of the P-Decoder's schedule (20000 iterations, saved every 2000, the
# last always kept). The best one is written as best_coco_segm_mAP_iter_<N>.pth, N known only
# after training: pass it with --cfg-options decoder.checkpoint=work_dirs/instance_coco_800/...
decoder = dict(
    config='configs/pdecoder/instance_coco_800.py',
    checkpoint='work_dirs/instance_coco_800/iter_20000.pth',
    cfg_options=dict())
task = 'instance'
# mmdet's CocoDataset order (the decoder's label ids 0..79)
classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')
# what {cls} is written as where COCO's name is not the everyday word (one drawn per prompt)
names = {
    'person': ['person', 'man', 'woman'],
    'motorcycle': ['motorcycle', 'motorbike'],
    'airplane': ['airplane', 'plane'],
    'sports ball': ['soccer ball', 'tennis ball', 'basketball', 'volleyball', 'beach ball'],
    'couch': ['couch', 'sofa'],
    'tv': ['television', 'TV'],
    'mouse': ['computer mouse'],
    'remote': ['remote control', 'TV remote'],
    'cell phone': ['cell phone', 'smartphone', 'mobile phone'],
    'refrigerator': ['refrigerator', 'fridge'],
    'donut': ['donut', 'doughnut'],
    'hair drier': ['hair dryer'],
}
# every word that names a class in a prompt (the names above included, so that a PromptFile
# given these synonyms reads the same vocabulary); plurals with -s/-es are matched anyway.
# 'orange' and 'apple' stay class words: the prompts never use them as a colour or a brand.
synonyms = {
    'person': ['person', 'man', 'woman', 'men', 'women', 'people', 'boy', 'girl', 'child',
               'children'],
    'bicycle': ['bike'],
    'motorcycle': ['motorcycle', 'motorbike', 'motor scooter'],
    'airplane': ['airplane', 'plane', 'aeroplane', 'airliner'],
    'truck': ['lorry'],
    'bench': ['park bench'],
    'bird': ['seagull', 'pigeon'],
    'cat': ['kitten'],
    'dog': ['puppy'],
    'horse': ['pony'],
    'sheep': ['lamb'],
    'backpack': ['rucksack'],
    'handbag': ['purse'],
    'tie': ['necktie'],
    'suitcase': ['luggage'],
    'frisbee': ['flying disc'],
    'sports ball': ['soccer ball', 'tennis ball', 'basketball', 'volleyball', 'beach ball',
                    'football'],
    'tennis racket': ['tennis racquet'],
    'baseball glove': ['baseball mitt'],
    'cup': ['mug'],
    'knife': ['knives'],
    'donut': ['donut', 'doughnut'],
    'couch': ['couch', 'sofa'],
    'potted plant': ['houseplant'],
    'dining table': ['table', 'kitchen table'],
    'tv': ['television', 'TV'],
    'mouse': ['computer mouse'],
    'remote': ['remote control', 'TV remote'],
    'cell phone': ['cell phone', 'smartphone', 'mobile phone'],
    'microwave': ['microwave oven'],
    'refrigerator': ['refrigerator', 'fridge'],
    'hair drier': ['hair dryer', 'blow dryer'],
}
# sub-types or looks, each with its article
attributes = {
    'person': ['a young', 'an elderly', 'a smiling', 'a walking', 'a standing', 'a sitting'],
    'bicycle': ['a red', 'a mountain', 'a parked', 'a vintage'],
    'car': ['a red', 'a parked', 'a white', 'a vintage', 'a police'],
    'motorcycle': ['a black', 'a parked', 'a vintage', 'a sport'],
    'airplane': ['a passenger', 'a small propeller', 'a jumbo jet', 'a landing'],
    'bus': ['a city', 'a double-decker', 'a yellow school', 'a red'],
    'train': ['a passenger', 'a freight', 'a steam', 'a high-speed'],
    'truck': ['a delivery', 'a pickup', 'a fire', 'a dump'],
    'boat': ['a sail', 'a fishing', 'a small row', 'a motor'],
    'traffic light': ['a red', 'a green', 'an overhead', 'a street'],
    'fire hydrant': ['a red', 'a yellow', 'an old', 'a rusty'],
    'stop sign': ['a red', 'a roadside', 'an octagonal', 'a weathered'],
    'parking meter': ['a coin-operated', 'a digital', 'an old', 'a roadside'],
    'bench': ['a wooden', 'a metal', 'a stone', 'an empty'],
    'bird': ['a small', 'a perched', 'a colourful', 'a flying'],
    'cat': ['a tabby', 'a black', 'a ginger', 'a sleeping'],
    'dog': ['a golden retriever', 'a small', 'a black labrador', 'a beagle'],
    'horse': ['a brown', 'a white', 'a grazing', 'a saddled'],
    'sheep': ['a woolly', 'a white', 'a grazing'],
    'cow': ['a black and white', 'a brown', 'a grazing'],
    'elephant': ['an African', 'an Asian', 'a baby', 'a large'],
    'bear': ['a brown', 'a black', 'a polar', 'a grizzly'],
    'zebra': ['a striped', 'a grazing', 'a young'],
    'giraffe': ['a tall', 'a young', 'a spotted'],
    'backpack': ['a hiking', 'a school', 'a black', 'a red'],
    'umbrella': ['a black', 'a colourful', 'an open', 'a beach'],
    'handbag': ['a leather', 'a small', 'a designer', 'a black'],
    'tie': ['a striped', 'a silk', 'a red', 'a blue'],
    'suitcase': ['a rolling', 'a hard-shell', 'a vintage leather', 'a large'],
    'frisbee': ['a red', 'a flying', 'a white', 'a plastic'],
    'skis': ['a pair of', 'a pair of red', 'a pair of cross-country'],
    'snowboard': ['a', 'a black', 'a colourful'],
    'sports ball': ['a', 'a new', 'a worn', 'a bouncing'],
    'kite': ['a colourful', 'a diamond-shaped', 'a flying', 'a red'],
    'baseball bat': ['a wooden', 'an aluminium', 'a black'],
    'baseball glove': ['a leather', 'a brown', 'a worn'],
    'skateboard': ['a', 'a wooden', 'a painted', 'a worn'],
    'surfboard': ['a white', 'a long', 'a colourful', 'a short'],
    'tennis racket': ['a', 'a new', 'a graphite', 'a wooden'],
    'bottle': ['a glass', 'a plastic', 'a green', 'a wine'],
    'wine glass': ['a', 'an empty', 'a full', 'a crystal'],
    'cup': ['a', 'a white', 'a coffee', 'a steaming'],
    'fork': ['a', 'a silver', 'a metal', 'a plastic'],
    'knife': ['a', 'a kitchen', 'a butter', 'a sharp'],
    'spoon': ['a', 'a silver', 'a wooden', 'a metal'],
    'bowl': ['a', 'a ceramic', 'an empty', 'a wooden'],
    'banana': ['a ripe', 'a yellow', 'a peeled', 'a green'],
    'apple': ['a red', 'a green', 'a shiny', 'a sliced'],
    'sandwich': ['a ham', 'a club', 'a toasted', 'a cheese'],
    'orange': ['a juicy', 'a peeled', 'a halved', 'a fresh'],
    'broccoli': ['fresh', 'a head of', 'steamed', 'green'],
    'carrot': ['a', 'a fresh', 'a peeled', 'a long'],
    'hot dog': ['a', 'a grilled', 'a loaded'],
    'pizza': ['a', 'a pepperoni', 'a margherita', 'a whole'],
    'donut': ['a', 'a glazed', 'a chocolate', 'a sprinkled'],
    'cake': ['a', 'a birthday', 'a chocolate', 'a wedding', 'a slice of'],
    'chair': ['a', 'a wooden', 'an office', 'a folding'],
    'couch': ['a', 'a leather', 'a grey', 'a comfortable'],
    'potted plant': ['a', 'a green', 'a large', 'a small'],
    'bed': ['a', 'a made', 'a double', 'an unmade'],
    'dining table': ['a', 'a wooden', 'a round', 'a long'],
    'toilet': ['a', 'a white', 'a clean', 'a porcelain'],
    'tv': ['a', 'a flat-screen', 'a large', 'an old'],
    'laptop': ['a', 'an open', 'a silver', 'a black'],
    'mouse': ['a', 'a wireless', 'a black', 'a white'],
    'remote': ['a', 'a black', 'a universal', 'a grey'],
    'keyboard': ['a', 'a computer', 'a wireless', 'a black'],
    'cell phone': ['a', 'a black', 'a new', 'a cracked'],
    'microwave': ['a', 'a white', 'a stainless steel', 'a countertop'],
    'oven': ['an', 'a kitchen', 'a stainless steel', 'a wall'],
    'toaster': ['a', 'a chrome', 'a two-slice', 'a retro'],
    'sink': ['a', 'a kitchen', 'a bathroom', 'a stainless steel'],
    'refrigerator': ['a', 'a stainless steel', 'a white', 'a tall'],
    'book': ['a', 'an open', 'a thick', 'an old'],
    'clock': ['a', 'a wall', 'an alarm', 'a round'],
    'vase': ['a', 'a glass', 'a ceramic', 'a tall'],
    'scissors': ['a pair of', 'a pair of sharp', 'a pair of kitchen'],
    'teddy bear': ['a', 'a brown', 'a fluffy', 'a small'],
    'hair drier': ['a', 'a black', 'a pink', 'a travel'],
    'toothbrush': ['a', 'an electric', 'a blue', 'a bamboo'],
}
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=classes,
        templates=['a photo of {attr} {cls} {scene}',
                   'a high-resolution photograph of {attr} {cls} {scene}',
                   'a realistic photo of {attr} {cls} {scene}',
                   '{attr} {cls} {scene}, photo'],
        attributes=attributes,
        # settings that suit every class (an elephant and a toothbrush alike)
        fields=dict(scene=['', 'in an everyday scene', 'in daylight', 'in natural light',
                           'in close-up', 'in a wide shot', 'with a blurred background',
                           'in the centre of the frame', 'seen from above',
                           'seen from the side']),
        class_names=names,
        synonyms=synonyms),
    seed=0)
# Instances scored under 0.5 or smaller than 64 pixels are dropped; a sample without a kept
# instance of a prompted class is rejected.
filters = dict(min_score=0.5, min_area=64, require_prompted=True)
# 100 per real image of the 800, 1000 per class (configs/coco_inst_synth_800.py: 80k next to
# 10 x 800 real)
num_samples = 80000
out_dir = 'data/synthetic/coco'
