# RQ4's prompt-diversity row "LLM-style prompt file": generate_semantic.py with the prompts of
# prompts/semantic_llm.txt, written by a small causal language model that learned the world's
# train_large captions and continued the openings of generate_semantic_openings.py
# ("a photo of an orange cone") into whole scenes; the class sampler picks a class, then a
# line naming it. Everything else as generate_semantic.py. Regenerate the file with:
#   python projects/demo_world/tools/train_caption_lm.py --world data/demo_world \
#       --out work_dirs/demo/caption_lm
#   python tools/misc/write_prompt_file.py \
#       projects/demo_world/configs/generate_semantic_openings.py \
#       --model-dir work_dirs/demo/caption_lm \
#       --out projects/demo_world/configs/prompts/semantic_llm.txt --pool-size 100 --seed 0
_base_ = ['./generate_semantic.py']
prompt_file = 'projects/demo_world/configs/prompts/semantic_llm.txt'
prompts = dict(source=dict(_delete_=True, type='PromptFile', path=prompt_file,
                           classes=['person', 'car', 'cone', 'tree', 'ball'],
                           synonyms=dict(person=['people'])))
