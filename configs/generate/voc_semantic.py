# Generate DatasetDM's synthetic VOC set (configs/voc_synth_100.py reads it from
# data/synthetic/voc) with the VOC-100 semantic P-Decoder (configs/pdecoder/semantic_voc_100.py):
#
#   python tools/generate.py configs/generate/voc_semantic.py
#   bash tools/dist_generate.sh configs/generate/voc_semantic.py 8
#
# Each prompt asks for one of VOC's 20 object classes (background is never prompted; it is
# what the decoder labels around the object), exactly balanced over the classes: a sub-type
# of the class ({attr}: "a corgi dog", "a jumbo jet airplane") in a light, view or weather
# setting ({scene}). configs/generate/voc_semantic_llm.py prompts with the caption-like lines
# of configs/generate/prompts/voc_semantic.txt instead (several classes per image).
_base_ = ['./_base_/sd15_sampling.py']
# The last checkpoint of the P-Decoder's schedule (20000 iterations, saved every 2000, the
# last always kept). The best one is written as best_mIoU_iter_<N>.pth, N known only after
# training: pass it with --cfg-options decoder.checkpoint=work_dirs/semantic_voc_100/...
decoder = dict(
    config='configs/pdecoder/semantic_voc_100.py',
    checkpoint='work_dirs/semantic_voc_100/iter_20000.pth',
    cfg_options=dict())
task = 'semantic'
# mmseg's PascalVOCDataset order without background (label ids 1..20 of the decoder)
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
           'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
           'train', 'tvmonitor')
# what {cls} is written as (one drawn per prompt); VOC's joined names are not words
names = dict(
    aeroplane=['airplane', 'aeroplane', 'plane'],
    bicycle=['bicycle', 'bike'],
    diningtable=['dining table', 'table'],
    motorbike=['motorbike', 'motorcycle'],
    person=['person', 'man', 'woman', 'boy', 'girl'],
    pottedplant=['potted plant', 'houseplant'],
    sofa=['sofa', 'couch'],
    tvmonitor=['television', 'TV', 'computer monitor'])
# every word that names a class in a prompt (the names above included, so that a PromptFile
# given these synonyms reads the same vocabulary); plurals with -s/-es are matched anyway
synonyms = dict(
    aeroplane=['airplane', 'aeroplane', 'plane', 'airliner', 'jet'],
    bicycle=['bicycle', 'bike'],
    boat=['ship', 'sailboat', 'yacht', 'canoe', 'kayak'],
    bird=['robin', 'seagull', 'gull', 'parrot', 'eagle', 'pigeon', 'blue jay', 'flamingo', 'owl',
          'swan', 'sparrow', 'duck', 'goose', 'heron'],
    bus=['coach bus'],
    cat=['kitten'],
    diningtable=['dining table', 'table'],
    dog=['corgi', 'labrador', 'golden retriever', 'German shepherd', 'beagle', 'dalmatian',
         'husky', 'poodle', 'pug', 'border collie', 'puppy'],
    horse=['pony', 'foal'],
    motorbike=['motorbike', 'motorcycle', 'motor scooter'],
    person=['person', 'man', 'woman', 'boy', 'girl', 'child', 'people', 'men', 'women',
            'children', 'rider', 'cyclist'],
    pottedplant=['potted plant', 'houseplant', 'pot plant'],
    sheep=['lamb'],
    sofa=['sofa', 'couch'],
    tvmonitor=['television', 'TV', 'computer monitor', 'monitor', 'tv monitor'])
# sub-types, each with its article; none names another class
attributes = dict(
    aeroplane=['a passenger', 'a jumbo jet', 'a twin-engine', 'a vintage propeller',
               'a small private', 'a cargo', 'a military fighter', 'a float', 'a red and white'],
    bicycle=['a mountain', 'a road racing', 'a vintage', 'a folding', 'a city', 'a BMX',
             'a red', 'a parked', 'a tandem'],
    bird=['a robin', 'a seagull', 'a parrot', 'a bald eagle', 'a pigeon', 'a blue jay',
          'a flamingo', 'an owl', 'a swan', 'a sparrow'],
    boat=['a sail', 'a fishing', 'a motor', 'a wooden row', 'a speed', 'a small white',
          'a ferry', 'a canal', 'an inflatable'],
    bottle=['a glass', 'a plastic water', 'a wine', 'a beer', 'a green', 'a milk', 'a soda',
            'an empty'],
    bus=['a double-decker', 'a yellow school', 'a city', 'a red', 'a tour', 'a long-distance',
         'an electric', 'a vintage'],
    car=['a red sports', 'a police', 'a taxi', 'a vintage', 'a family', 'an electric',
         'a convertible', 'a white hatchback', 'a silver'],
    cat=['a tabby', 'a black', 'a ginger', 'a Siamese', 'a Persian', 'a fluffy white',
         'a Maine Coon', 'a sleepy', 'a grey'],
    chair=['a wooden', 'an office', 'a plastic garden', 'a folding', 'a rocking', 'a metal',
           'a kitchen', 'a leather arm', 'a dining'],
    cow=['a black and white Holstein', 'a brown', 'a Highland', 'a dairy', 'a grazing',
         'a Jersey', 'a young'],
    diningtable=['a wooden', 'a round', 'a long', 'a glass', 'a rustic', 'a marble',
                 'a modern white', 'a farmhouse'],
    dog=['a corgi', 'a labrador', 'a golden retriever', 'a German shepherd', 'a beagle',
         'a dalmatian', 'a husky', 'a poodle', 'a pug', 'a border collie'],
    horse=['a brown', 'a white', 'a black', 'a racing', 'a draft', 'a spotted', 'a galloping',
           'a saddled', 'an Arabian'],
    motorbike=['a sport', 'a vintage', 'a touring', 'a dirt', 'a red', 'a police',
               'a chopper-style', 'a black'],
    person=['a young', 'an old', 'a smiling', 'a tall', 'a running', 'a standing',
            'a dancing', 'a hiking'],
    pottedplant=['a green', 'a leafy', 'a small', 'a large', 'a flowering', 'a tropical',
                 'a succulent', 'a fern'],
    sheep=['a woolly', 'a white', 'a black-faced', 'a freshly shorn', 'a grazing',
           'a young', 'a Merino'],
    sofa=['a leather', 'a grey fabric', 'a corner', 'a velvet', 'a three-seat', 'a red',
          'a vintage', 'a modern'],
    train=['a steam', 'a high-speed', 'a freight', 'a commuter', 'a subway', 'a diesel',
           'a red passenger', 'an electric', 'a vintage'],
    tvmonitor=['a flat-screen', 'a large', 'an old CRT', 'a widescreen', 'a wall-mounted',
               'a curved', 'a small', 'a black'])
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=classes,
        templates=['a photo of {attr} {cls} {scene}',
                   'a high-resolution photograph of {attr} {cls} {scene}',
                   'a realistic photo of {attr} {cls} {scene}',
                   '{attr} {cls} {scene}, photo'],
        attributes=attributes,
        # settings that suit every class (an aeroplane and a TV alike)
        fields=dict(scene=['', 'in daylight', 'at sunset', 'on a cloudy day',
                           'in soft morning light', 'in the evening', 'seen from the side',
                           'seen from the front', 'in a wide shot', 'in close-up',
                           'with a blurred background', 'in the centre of the frame']),
        class_names=names,
        synonyms=synonyms),
    seed=0)
# Pixels the decoder is less than half sure of are ignored (255); a mask with more than 30%
# ignored pixels is rejected, and so is one where a prompted class covers under 1% of the image
# (about 2600 pixels at 512x512) or is absent.
filters = dict(min_confidence=0.5, max_ignore_fraction=0.3, min_class_fraction=0.01,
               require_prompted=True)
writer = dict(palette='voc')  # masks as VOC's palette PNGs (pixel values are the class ids)
# 400 per real image of the 100, about 2000 per class
num_samples = 40000
out_dir = 'data/synthetic/voc'
