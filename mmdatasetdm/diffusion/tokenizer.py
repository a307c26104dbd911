"""Build a CLIP byte-level BPE tokenizer from a text corpus.

Stable Diffusion's tokenizer is CLIP's BPE with a 49k vocabulary learned on
web text. A small model trained on a small world needs a small vocabulary in
the same format, so that ``CLIPTokenizer.from_pretrained`` loads it unchanged.
The learning below is plain BPE (most frequent adjacent pair first, ties
broken by the pair's text), deterministic for a given corpus.
"""
import collections
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Tuple

START_TOKEN = '<|startoftext|>'
END_TOKEN = '<|endoftext|>'
_WORD_PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")


def _bytes_to_unicode() -> Dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable unicode character table."""
    printable = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) +
                 list(range(ord('®'), ord('ÿ') + 1)))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def _words(texts: Iterable[str]) -> collections.Counter:
    byte_map = _bytes_to_unicode()
    counts = collections.Counter()
    for text in texts:
        for word in _WORD_PATTERN.findall(' '.join(text.lower().split())):
            counts[''.join(byte_map[b] for b in word.encode('utf-8'))] += 1
    return counts


def learn_bpe(texts: Iterable[str], num_merges: int) -> List[Tuple[str, str]]:
    """Learn up to ``num_merges`` BPE merges (CLIP style, ``</w>`` ends a word)."""
    vocab = {tuple(w[:-1]) + (w[-1] + '</w>',): n for w, n in _words(texts).items()}
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for symbols, n in vocab.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = best[0] + best[1]
        new_vocab = {}
        for symbols, n in vocab.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            new_vocab[tuple(out)] = new_vocab.get(tuple(out), 0) + n
        vocab = new_vocab
    return merges


def save_clip_tokenizer_files(texts: Iterable[str], save_dir: str, num_merges: int = 1000,
                              model_max_length: int = 77) -> str:
    """Learn a vocabulary from ``texts`` and write ``vocab.json``, ``merges.txt``
    and the tokenizer config into ``save_dir`` (loadable by
    ``transformers.CLIPTokenizer.from_pretrained(save_dir)``).

    Returns:
        str: ``save_dir``.
    """
    merges = learn_bpe(texts, num_merges)
    base = list(_bytes_to_unicode().values())
    tokens = base + [b + '</w>' for b in base] + [a + b
                                                  for a, b in merges] + [START_TOKEN, END_TOKEN]
    vocab = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    os.makedirs(save_dir, exist_ok=True)
    with open(osp.join(save_dir, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(osp.join(save_dir, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in merges))
    config = dict(tokenizer_class='CLIPTokenizer', model_max_length=model_max_length,
                  bos_token=START_TOKEN, eos_token=END_TOKEN, unk_token=END_TOKEN,
                  pad_token=END_TOKEN, do_lower_case=True)
    with open(osp.join(save_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    return save_dir
