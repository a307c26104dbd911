# Generate DatasetDM's synthetic NYU depth set (configs/nyu_depth_synth_50.py reads it from
# data/synthetic/nyu) with the NYU-50 depth P-Decoder (configs/pdecoder/depth_nyu_50.py):
#
#   python tools/generate.py configs/generate/nyu_depth.py
#   bash tools/dist_generate.sh configs/generate/nyu_depth.py 8
#
# Every prompt is an indoor scene that names its furniture, NYU's kind of picture: "a photo of
# a kitchen with a table, chairs and a refrigerator". The classes are object words of the
# NYU-40 label set (wall, floor, ceiling and the three 'other' groups left out); each prompt
# asks for one of them, exactly balanced, and the room around it comes with the class:
# {attr} holds a room that suits the object and the other things in it ("a bathroom with a
# sink, a mirror and a white" + "towel"), {light} a time of day.
# configs/generate/nyu_depth_llm.py prompts with configs/generate/prompts/nyu_depth.txt.
_base_ = ['./_base_/sd15_sampling.py']
classes = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf', 'picture',
           'counter', 'blinds', 'desk', 'shelves', 'curtain', 'dresser', 'pillow', 'mirror',
           'floor mat', 'clothes', 'books', 'refrigerator', 'television', 'paper', 'towel',
           'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet', 'sink',
           'lamp', 'bathtub', 'bag')
# The last checkpoint of the P-Decoder's schedule (10000 iterations, saved every 1000, the last
# always kept). The best one is written as best_abs_rel_iter_<N>.pth, N known only after
# training: pass it with --cfg-options decoder.checkpoint=work_dirs/depth_nyu_50/...
# A depth decoder has no label classes: the classes a prompt may name are its backbone's
# class_names, which for depth only make the default prompt of training images ('a photo of a
# room'; the neck reads every token, not class words, and class_names are no weights). They
# are set to the object words here so that the engine accepts prompts naming them.
decoder = dict(
    config='configs/pdecoder/depth_nyu_50.py',
    checkpoint='work_dirs/depth_nyu_50/iter_10000.pth',
    cfg_options=dict(model=dict(backbone=dict(class_names=classes))))
task = 'depth'
names = {
    'sofa': ['sofa', 'couch'],
    'picture': ['picture', 'painting', 'poster'],
    'floor mat': ['floor mat', 'rug'],
    'refrigerator': ['refrigerator', 'fridge'],
    'television': ['television', 'TV'],
    'person': ['person', 'man', 'woman'],
    'night stand': ['nightstand', 'bedside table'],
}
# every word that names a class in a prompt (the names above included, so that a PromptFile
# given these synonyms reads the same vocabulary); plurals with -s/-es are matched anyway
synonyms = {
    'cabinet': ['cupboard'],
    'sofa': ['sofa', 'couch'],
    'bookshelf': ['bookcase', 'bookshelves'],
    'picture': ['picture', 'painting', 'poster', 'framed print'],
    'counter': ['countertop'],
    'shelves': ['shelf'],
    'curtain': ['drapes'],
    'dresser': ['chest of drawers'],
    'pillow': ['cushion'],
    'floor mat': ['floor mat', 'rug', 'doormat', 'bath mat'],
    'clothes': ['clothing'],
    'books': ['book'],
    'refrigerator': ['refrigerator', 'fridge'],
    'television': ['television', 'TV'],
    'paper': ['papers', 'documents'],
    'box': ['boxes'],
    'person': ['person', 'man', 'woman', 'men', 'women', 'people', 'child', 'children', 'boy',
               'girl'],
    'night stand': ['nightstand', 'bedside table'],
    'sink': ['washbasin'],
    'bathtub': ['tub'],
    'bag': ['handbag', 'backpack'],
}
# the room around each object, ending where the object's word follows
attributes = {
    'cabinet': ['a kitchen with a sink, a stove and a tall wooden',
                'a laundry room with a washing machine and a white',
                'a garage workshop with tools and a metal'],
    'bed': ['a bedroom with a nightstand, a lamp and a double',
            'a hotel room with curtains, a desk and a king-size',
            "a kid's bedroom with toys, a bookshelf and a bunk"],
    'chair': ['a dining room with a wooden table and a',
              'a study with a desk, a bookshelf and an office',
              'a living room with a sofa and a reading'],
    'sofa': ['a living room with a coffee table, a lamp and a grey',
             'a basement lounge with a television and a leather',
             'a small apartment with a rug, pillows and a blue'],
    'table': ['a dining room with chairs, a chandelier and a wooden',
              'a kitchen with a refrigerator, cabinets and a small',
              'a living room with a sofa, a rug and a low coffee'],
    'door': ['a hallway with a coat rack, a floor mat and a white',
             'a bedroom with a wardrobe, a mirror and a closed',
             'an office corridor with a fire extinguisher and a glass'],
    'window': ['a living room with curtains, a sofa and a large',
               'a kitchen with a sink under a bright',
               'a bedroom with a desk beside a tall'],
    'bookshelf': ['a study with a desk, a chair and a tall',
                  'a living room with an armchair, a lamp and a wooden',
                  'a library corner with a reading chair and a full'],
    'picture': ['a living room with a sofa, a lamp and a framed',
                'a bedroom with a bed and above it a large',
                'a hallway with a side table and a small'],
    'counter': ['a kitchen with cabinets, a sink and a marble',
                'a bathroom with a mirror, a sink and a tiled',
                'a cafe with stools and a long wooden'],
    'blinds': ['an office with a desk, a computer and window',
               'a bedroom with a bed and half-closed',
               'a kitchen with a table and white'],
    'desk': ['a home office with a chair, a lamp and a wooden',
             "a classroom with a whiteboard, chairs and a teacher's",
             'a bedroom with a bed, shelves and a study'],
    'shelves': ['a kitchen with a counter and open wooden',
                'a living room with a television and white wall',
                'a storage room with boxes on metal'],
    'curtain': ['a living room with a sofa, a window and a long',
                'a bedroom with a bed, a dresser and a sheer',
                'a dining room with a table and a heavy velvet'],
    'dresser': ['a bedroom with a bed, a mirror and a wooden',
                'a guest room with a lamp, a chair and a white',
                'a nursery with a crib and a painted'],
    'pillow': ['a bedroom with a made bed and a white',
               'a living room with a sofa, a rug and a striped',
               'a reading nook with a window seat and a soft'],
    'mirror': ['a bathroom with a sink, a towel and a large',
               'a bedroom with a dresser and a round',
               'a hallway with a coat rack and a full-length'],
    'floor mat': ['a bathroom with a bathtub, a toilet and a blue',
                  'an entrance hall with a door, a shoe rack and a',
                  'a kitchen with a sink, cabinets and a rubber'],
    'clothes': ['a bedroom with an unmade bed and a chair piled with',
                'a laundry room with a basket of folded',
                'a walk-in closet with shelves and hanging'],
    'books': ['a study with a desk, a lamp and piles of',
              'a living room with a bookshelf full of',
              'a bedroom with a nightstand holding a stack of'],
    'refrigerator': ['a kitchen with a table, chairs and a',
                     'a small kitchen with a counter, a sink and a stainless steel',
                     'an office kitchenette with a microwave and a white'],
    'television': ['a living room with a sofa, a coffee table and a large',
                   'a bedroom with a bed, a dresser and a small',
                   'a basement with a couch, a rug and a wall-mounted'],
    'paper': ['an office with a desk, a computer and stacks of',
              'a classroom with desks covered in sheets of',
              'a study with a desk, a lamp and scattered'],
    'towel': ['a bathroom with a sink, a mirror and a white',
              'a bathroom with a bathtub, a shower curtain and a folded',
              'a kitchen with a counter, a sink and a hanging'],
    'shower curtain': ['a bathroom with a bathtub, a towel and a striped',
                       'a small bathroom with a toilet, a sink and a white',
                       'a hotel bathroom with a mirror and a clear'],
    'box': ['a storage room with shelves and a cardboard',
            'a bedroom with a bed, a lamp and a moving',
            'an office with a desk, a chair and a large'],
    'whiteboard': ['a classroom with desks, chairs and a large',
                   'a meeting room with a long table, chairs and a',
                   'a home office with a desk, a lamp and a small'],
    'person': ['a living room with a sofa, a lamp and a',
               'a kitchen with a counter, cabinets and a',
               'an office with desks, chairs and a'],
    'night stand': ['a bedroom with a double bed, a lamp and a wooden',
                    'a hotel room with a bed, curtains and a small',
                    'a guest room with a dresser, a mirror and a white'],
    'toilet': ['a bathroom with a sink, a mirror and a white',
               'a small bathroom with a towel, a floor mat and a',
               'a clean bathroom with a bathtub and a'],
    'sink': ['a kitchen with cabinets, a refrigerator and a stainless steel',
             'a bathroom with a mirror, a towel and a white',
             'a laundry room with shelves and a deep'],
    'lamp': ['a living room with a sofa, a side table and a floor',
             'a bedroom with a bed, a nightstand and a bedside',
             'a study with a desk, books and a desk'],
    'bathtub': ['a bathroom with a toilet, a sink and a white',
                'a bathroom with a shower curtain, towels and a freestanding',
                'a tiled bathroom with a mirror and a large'],
    'bag': ['a bedroom with a bed, a desk and a school',
            'a hallway with a door, a floor mat and a shopping',
            'an office with a desk, a chair and a leather'],
}
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=classes,
        templates=['a photo of {attr} {cls} {light}',
                   'an indoor photo of {attr} {cls} {light}',
                   'a wide-angle photo of {attr} {cls}, taken from the doorway',
                   'a realistic photo of {attr} {cls}'],
        attributes=attributes,
        fields=dict(light=['', ', lit by daylight from a window', ', at night with the lights on',
                           ', in warm evening light', ', in bright overhead light']),
        class_names=names,
        synonyms=synonyms),
    seed=0)
# depth has no classes to check; every decoded depth map is kept
filters = dict(require_prompted=False)
# 16-bit PNG depth in millimetres, what configs/nyu_depth_synth_50.py's pipeline reads
writer = dict(depth_scale=1000)
# 400 per real frame of the 50
num_samples = 20000
out_dir = 'data/synthetic/nyu'
