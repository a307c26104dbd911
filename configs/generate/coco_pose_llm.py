# coco_pose.py with the caption-like prompts of configs/generate/prompts/coco_pose.txt instead of
# its templates: for each index the class sampler picks a class (exactly balanced) and a line
# naming that class is drawn, so the file must name every class (it does; tested). The synthetic
# set is the same folder as coco_pose.py's, which a run refuses when it holds the other run's
# samples: generate one of the two there, or pass --out.
#
#   python tools/generate.py configs/generate/coco_pose_llm.py
#
# Regenerate the file with a local causal language model (see docs/generation.md):
#   python tools/misc/write_prompt_file.py configs/generate/coco_pose.py \
#       --model-dir checkpoints/<causal LM folder> --out configs/generate/prompts/coco_pose.txt
_base_ = ['./coco_pose.py']
prompt_file = 'configs/generate/prompts/coco_pose.txt'
prompts = dict(source=dict(_delete_=True, type='PromptFile', path=prompt_file,
                           classes=_base_.classes, synonyms=_base_.synonyms))
