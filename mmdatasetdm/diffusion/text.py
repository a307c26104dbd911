"""Prompt encoding and the token positions of words inside a prompt."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor


def tokenize(tokenizer, prompts: Sequence[str]) -> Tensor:
    """Token ids padded to the tokenizer's length, as Stable Diffusion does.

    Returns:
        Tensor: shape (B, T), T = ``tokenizer.model_max_length`` (77 for CLIP).
    """
    return tokenizer(list(prompts), padding='max_length', max_length=tokenizer.model_max_length,
                     truncation=True, return_tensors='pt').input_ids


def word_token_positions(tokenizer, prompt: str, words: Sequence[str]) -> Dict[str, List[int]]:
    """Where each word's tokens sit in the tokenised prompt.

    A word may be several BPE tokens ("aeroplane" in CLIP) or several words
    ("potted plant"); all positions of every occurrence are returned. Position
    0 is the start token, so the first word of a prompt is at position >= 1.

    Args:
        tokenizer: a CLIP tokenizer.
        prompt (str): the prompt.
        words (Sequence[str]): the words to find (e.g. class names).

    Returns:
        dict[str, list[int]]: word -> sorted token positions (empty if the
        word is absent or was truncated away).
    """
    ids = tokenize(tokenizer, [prompt])[0].tolist()
    positions = {}
    for word in words:
        sub = tokenizer(word, add_special_tokens=False).input_ids
        found = []
        if sub:
            for start in range(len(ids) - len(sub) + 1):
                if ids[start:start + len(sub)] == sub:
                    found.extend(range(start, start + len(sub)))
        positions[word] = sorted(set(found))
    return positions


class PromptEncoder:
    """Text-encoder wrapper with a small cache of prompt embeddings.

    P-Decoder training sees the same few prompts over and over; encoding each
    once saves the text encoder's time.

    Args:
        tokenizer: CLIP tokenizer.
        text_encoder: CLIP text model.
        cache_size (int): prompts kept (least recently used are dropped).
    """

    def __init__(self, tokenizer, text_encoder, cache_size: int = 1024):
        self.tokenizer = tokenizer
        self.text_encoder = text_encoder
        self.cache_size = cache_size
        self._cache: 'OrderedDict[str, Tensor]' = OrderedDict()

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str], device: Optional[torch.device] = None) -> Tensor:
        """Embeddings of shape (B, T, D), on the text encoder's device/dtype."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self._cache]
        if missing:
            ids = tokenize(self.tokenizer, missing).to(self.text_encoder.device)
            embeds = self.text_encoder(ids)[0]
            for prompt, emb in zip(missing, embeds):
                self._cache[prompt] = emb
        out = []
        for prompt in prompts:
            self._cache.move_to_end(prompt)
            out.append(self._cache[prompt])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        embeds = torch.stack(out)
        return embeds if device is None else embeds.to(device)

    def clear(self):
        self._cache.clear()
