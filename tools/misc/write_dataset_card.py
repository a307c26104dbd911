"""Write (or rewrite) the dataset card of a generated set.

    python tools/misc/write_dataset_card.py DIR [--no-gallery] [--command "..."]

DIR is a merged generated set (``dataset.json`` + ``manifest.jsonl``, as
``tools/generate.py`` writes it) or a stream folder (``tools/generate.py
--stream``; its card is computed from the part files, see
``mmdatasetdm.generation.card.write_stream_card``). The card's facts are computed from its files
(:mod:`mmdatasetdm.generation.card`) and written to ``dataset.json`` (under
``card``), ``README.md`` and ``gallery.png``; the command that started the run
is kept (from ``shards/rank00000/command.json`` or the current card). Writing a
card again writes the same bytes, so this is safe to run on any set, at any
time.
"""
import argparse
import os.path as osp
import shlex

from mmdatasetdm.fileio.synthetic_format import CARD_README
from mmdatasetdm.generation.card import (card_summary, is_stream_folder, write_dataset_card,
                                         write_stream_card)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write the dataset card of a generated set')
    parser.add_argument('data_root', metavar='DIR', help='a merged generated set or a stream '
                        'folder')
    parser.add_argument('--no-gallery', action='store_true',
                        help='write no gallery.png (and remove one left from before)')
    parser.add_argument('--command',
                        help='the command that made the set, as one shell line (default: the '
                        'recorded one)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = None if args.command is None else shlex.split(args.command)
    try:
        write = write_stream_card if is_stream_folder(args.data_root) else write_dataset_card
        facts = write(args.data_root, command=command, gallery=not args.no_gallery)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'write_dataset_card.py: {err}')
    print(card_summary(facts, args.data_root))
    print(f'dataset card written: {osp.join(args.data_root, CARD_README)}'
          + (f' (gallery: {osp.join(args.data_root, facts["gallery"]["file"])})'
             if facts['gallery'] else ''))
    return facts


if __name__ == '__main__':
    main()
