"""Train a small word-level causal language model on a demo world's captions.

The demo world's stand-in for the large language model that writes a prompt
file: a GPT-2-architecture model (``transformers``) with a word-level tokenizer
learns the captions of a split, then ``tools/misc/write_prompt_file.py``
lets it continue rendered openings (``a photo of an orange cone``) into
caption-like prompts. Both are saved with ``save_pretrained`` so the folder
loads with ``AutoModelForCausalLM`` / ``AutoTokenizer`` like any local LM::

    python projects/demo_world/tools/train_caption_lm.py --world data/demo_world \\
        --out work_dirs/demo/caption_lm
    python tools/misc/write_prompt_file.py \\
        projects/demo_world/configs/generate_semantic_openings.py \\
        --model-dir work_dirs/demo/caption_lm \\
        --out projects/demo_world/configs/prompts/semantic_llm.txt

The captions come from ``captions/<split>.jsonl`` of the world (default
``train_large``: captions only, no labels); the loss on ``--val-split`` is
printed at the end. ``--out`` must not exist: the model is written to a
hidden temporary folder beside it and renamed when complete.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
import uuid

import torch

from mmdatasetdm.fileio import atomic_write_text, file_sha256
from mmdatasetdm.fileio.files import TEMP_MARKER
from projects.demo_world.demo_world.layout import WorldLayout, read_caption_records

UNK, EOS = '<unk>', '<eos>'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a word-level caption language model')
    parser.add_argument('--world', default='data/demo_world', help='world root')
    parser.add_argument('--splits', nargs='+', default=['train_large'],
                        help='splits whose captions are learned')
    parser.add_argument('--alt-captions', action='store_true',
                        help="also learn each image's alternative (one-class) captions")
    parser.add_argument('--val-split', default='val', help='split whose loss is reported')
    parser.add_argument('--out', required=True, help='model folder to write (must not exist)')
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--width', type=int, default=64, help='embedding width')
    parser.add_argument('--layers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def split_captions(world: str, split: str, alt_captions: bool = False) -> list:
    """The captions of a split.

    Args:
        world (str): world root.
        split (str): split name.
        alt_captions (bool): add each image's alternative captions.

    Returns:
        list[str]: the captions.
    """
    path = WorldLayout(world).captions(split)
    if not osp.isfile(path):
        raise SystemExit(f'{path} not found: expected the captions of split {split!r} of the '
                         f'world {world} (written by projects/demo_world/tools/'
                         'make_demo_world.py)')
    captions = []
    for record in read_caption_records(path):
        captions.append(record['caption'])
        if alt_captions:
            captions.extend(record.get('alt_captions', []))
    if not captions:
        raise SystemExit(f'{path} holds no captions')
    return captions


def word_tokenizer(captions):
    """A word-level tokenizer over the captions' words, ``,`` a word of its own.

    Words are stored with a leading ``▁`` (as SentencePiece does), so decoding
    restores the spaces and a continuation keeps its leading comma.

    Args:
        captions (list[str]): the texts.

    Returns:
        PreTrainedTokenizerFast: the tokenizer (``<unk>``, ``<eos>`` = pad).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    split = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    words = sorted({w for c in captions for w, _ in split.pre_tokenize_str(c)})
    vocab = {w: i for i, w in enumerate([UNK, EOS] + words)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tokenizer.pre_tokenizer = split
    tokenizer.decoder = decoders.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token=UNK, eos_token=EOS,
                                   bos_token=EOS, pad_token=EOS)


def encode(tokenizer, captions, max_len: int) -> torch.Tensor:
    """Token ids with ``<eos>`` after each caption, padded with -1.

    Args:
        tokenizer: the word tokenizer.
        captions (list[str]): the texts.
        max_len (int): the model's context; a longer caption is refused.

    Returns:
        Tensor: (N, L) int64.
    """
    ids = [tokenizer(c)['input_ids'] + [tokenizer.eos_token_id] for c in captions]
    longest = max(len(i) for i in ids)
    if longest > max_len:
        raise SystemExit(f'a caption has {longest} tokens, more than the context of {max_len}')
    out = torch.full((len(ids), longest), -1, dtype=torch.long)
    for row, seq in enumerate(ids):
        out[row, :len(seq)] = torch.tensor(seq)
    return out


def lm_loss(model, batch: torch.Tensor) -> torch.Tensor:
    """Next-token loss of a padded batch (padding neither read nor predicted)."""
    mask = batch >= 0
    inputs = batch.clamp(min=0)
    labels = batch.masked_fill(~mask, -100)
    return model(input_ids=inputs, attention_mask=mask.long(), labels=labels).loss


def main(argv=None):
    args = parse_args(argv)
    from transformers import GPT2Config, GPT2LMHeadModel
    if args.width % 4:
        raise SystemExit(f'--width must be a multiple of 4 (the model has 4 heads), got '
                         f'{args.width}')
    if osp.exists(args.out):
        raise SystemExit(f'--out {args.out} exists; give a new folder (nothing was written)')
    captions = [c for s in args.splits for c in split_captions(args.world, s, args.alt_captions)]
    val = split_captions(args.world, args.val_split)
    tokenizer = word_tokenizer(captions)
    torch.manual_seed(args.seed)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=args.width,
                        n_layer=args.layers, n_head=4, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config)
    data, val_data = encode(tokenizer, captions, 64), encode(tokenizer, val, 64)
    unknown = (val_data == tokenizer.unk_token_id).float().mean().item()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.steps,
                                                   pct_start=0.05)
    generator = torch.Generator().manual_seed(args.seed)
    print(f'{len(captions)} captions of {args.splits}, {len(tokenizer)} words, '
          f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters')
    began = time.time()
    model.train()
    for step in range(1, args.steps + 1):
        index = torch.randint(len(data), (args.batch, ), generator=generator)
        batch = data[index]
        batch = batch[:, :int((batch >= 0).sum(1).max())]
        loss = lm_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == args.steps:
            print(f'step {step}/{args.steps} loss {loss.item():.3f} '
                  f'({time.time() - began:.0f} s)', flush=True)
    model.eval()
    with torch.no_grad():  # a chunk's mean weighted by the tokens it predicts
        chunks = [val_data[i:i + 256] for i in range(0, len(val_data), 256)]
        predicted = [int((c >= 0).sum()) - len(c) for c in chunks]
        val_loss = sum(lm_loss(model, c).item() * n
                       for c, n in zip(chunks, predicted)) / sum(predicted)
    print(f'{args.val_split} loss {val_loss:.3f} per token ({unknown:.1%} of its tokens unknown)')
    layout = WorldLayout(args.world)
    record = dict(world=args.world, splits=args.splits, captions=len(captions),
                  captions_sha256={s: file_sha256(layout.captions(s)) for s in args.splits},
                  alt_captions=args.alt_captions, steps=args.steps, batch=args.batch,
                  lr=args.lr, width=args.width, layers=args.layers, seed=args.seed,
                  val_split=args.val_split, val_loss=round(val_loss, 4))
    # a hidden temporary folder of its own (the fileio naming), renamed when complete
    folder, name = osp.split(osp.abspath(args.out))
    tmp = osp.join(folder, f'.{name}{TEMP_MARKER}{os.getpid()}.{uuid.uuid4().hex[:12]}')
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic_write_text(osp.join(tmp, 'caption_lm.json'), json.dumps(record, indent=2) + '\n')
        os.replace(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
