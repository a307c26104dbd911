# voc_semantic.py with the caption-like prompts of configs/generate/prompts/voc_semantic.txt
# instead of its templates: for each index the class sampler picks a class (exactly balanced) and
# a line naming that class is drawn, so the file must name every class (it does; tested). The
# synthetic set is the same folder as voc_semantic.py's, which a run refuses when it holds the
# other run's samples: generate one of the two there, or pass --out.
#
#   python tools/generate.py configs/generate/voc_semantic_llm.py
#
# Regenerate the file with a local causal language model (see docs/generation.md):
#   python tools/misc/write_prompt_file.py configs/generate/voc_semantic.py \
#       --model-dir checkpoints/<causal LM folder> --out configs/generate/prompts/voc_semantic.txt
_base_ = ['./voc_semantic.py']
prompt_file = 'configs/generate/prompts/voc_semantic.txt'
prompts = dict(source=dict(_delete_=True, type='PromptFile', path=prompt_file,
                           classes=_base_.classes, synonyms=_base_.synonyms))
