# Generate DatasetDM's synthetic COCO keypoint set (configs/coco_pose_synth_800.py reads it
# from data/synthetic/coco_pose) with the COCO-800 pose P-Decoder
# (configs/pdecoder/pose_coco_800.py):
#
#   python tools/generate.py configs/generate/coco_pose.py
#   bash tools/dist_generate.sh configs/generate/coco_pose.py 8
#
# Every prompt shows people in an activity with its place ("a young woman and a teammate
# playing basketball on an outdoor court"). The decoder is top-down: each region the person
# words of the prompt attend to becomes one person box (docs/generation.md, "Pose: one label
# per person"), so prompts with a second person give several annotations. Every word that
# names one or more people is a synonym of the class 'person', so all of them mark people;
# group nouns ('crowd', 'couple', 'family') are not, as their region would be one box.
# configs/generate/coco_pose_llm.py prompts with configs/generate/prompts/coco_pose.txt.
_base_ = ['./_base_/sd15_sampling.py']
# The last checkpoint of the P-Decoder's schedule (210 epochs, mmpose's default runtime saves
# every 10 and always the last). The best one is written as best_coco_AP_epoch_<N>.pth, N
# known only after training: pass it with --cfg-options decoder.checkpoint=...
decoder = dict(
    config='configs/pdecoder/pose_coco_800.py',
    checkpoint='work_dirs/pose_coco_800/epoch_210.pth',
    cfg_options=dict())
task = 'pose'
classes = ('person', )  # COCO's one keypoint category
names = dict(person=['person', 'man', 'woman'])
# every word that names people in a prompt (the names above included, so that a PromptFile
# given these synonyms reads the same vocabulary); plurals with -s are matched anyway
synonyms = dict(person=[
    'person', 'man', 'woman', 'men', 'women', 'people', 'boy', 'girl', 'child', 'children',
    'kid', 'teenager', 'player', 'athlete', 'friend', 'teammate', 'dancer', 'runner', 'cyclist',
    'skier', 'surfer', 'skateboarder', 'climber', 'hiker', 'opponent', 'partner', 'coach',
    'referee', 'student', 'musician', 'chef', 'cook', 'worker', 'spectator', 'teacher', 'pitcher',
    'golfer', 'boxer', 'gymnast', 'wrestler', 'rower', 'firefighter', 'martial artist', 'father',
    'mother', 'son', 'daughter', 'grandfather', 'grandson'])
prompts = dict(
    source=dict(
        type='TemplatePrompts',
        classes=classes,
        templates=['a full-body photo of {attr} {cls} {activity} {company}',
                   'a photo of {attr} {cls} {activity} {company}, {shot}',
                   'a photo of {attr} {cls} and {partner} {activity}, {shot}',
                   'a candid photo of {attr} {cls} and {partner} {activity}'],
        attributes=dict(person=['a', 'a young', 'an athletic', 'a smiling', 'a middle-aged',
                                'an elderly', 'a sporty', 'a casually dressed']),
        fields=dict(
            # what the people do, with where (the place suits the activity)
            activity=[
                'playing basketball on an outdoor court', 'playing tennis on a clay court',
                'kicking a ball on a grass field', 'running along a beach',
                'jogging in a city park', 'riding a bicycle on a country road',
                'skateboarding in a skate park', 'surfing a wave', 'skiing down a snowy slope',
                'snowboarding on a mountain', 'doing yoga on a mat in a living room',
                'stretching before a run', 'lifting weights in a gym',
                'doing push-ups on a wooden floor', 'dancing in a studio',
                'practising karate in a dojo', 'throwing a frisbee in a park',
                'swinging a baseball bat', 'climbing a rock wall',
                'hiking on a mountain trail', 'walking a dog on a sidewalk',
                'sitting on a park bench', 'cooking in a kitchen',
                'playing the guitar on a stage', 'jumping over a hurdle on a track',
                'playing volleyball on the beach', 'gardening in a backyard',
                'carrying shopping bags down a street', 'waiting at a bus stop',
                'reading a book on a sofa', 'boxing in a ring', 'ice skating on a frozen lake',
                'playing golf on a green', 'painting a wall with a roller',
                'crossing a street at a zebra crossing', 'kneeling to tie a shoe'],
            # other people in the picture (often none)
            company=['', '', '', 'while friends watch', 'next to a teammate',
                     'with other people nearby', 'with a coach'],
            partner=['a friend', 'a teammate', 'another player', 'a child', 'a woman', 'a man',
                     'two friends'],
            shot=['full body in frame', 'seen from the side', 'seen from the front',
                  'in bright daylight', 'at sunset', 'on an overcast day']),
        class_names=names,
        synonyms=synonyms),
    seed=0)
sampling = dict(negative_prompt='deformed body, extra limbs, missing limbs, blurry')
# A person whose mean keypoint score is under 0.3 is dropped, and a sample without a person
# left is rejected; keypoints scored under 0.3 are written as not labelled (visibility 0).
filters = dict(min_score=0.3, min_keypoint_score=0.3)
# 50 per real image of the 800
num_samples = 40000
out_dir = 'data/synthetic/coco_pose'
