# The openings a language model continues into the prompt file of generate_semantic_llm.py:
# one class with its colour, in the words of the world's captions ("a photo of an orange
# cone"); the model writes the rest of the scene. Also a generation config of its own.
_base_ = ['./generate_semantic.py']
prompts = dict(source=dict(_delete_=True, type='DemoWorldPrompts',
                           templates=['a photo of {attr} {cls}']))
