"""Write an edit list for tools/edit.py in the demo world's words.

    python projects/demo_world/tools/write_edits.py --out projects/demo_world/configs/edits.jsonl \
        [--attribute 30] [--swap 30] [--seed 0]

Attribute edits change an object's colour to another colour its class comes in
("a photo of a red car on grass" -> "... a blue car on grass"): its mask should
stay. Swap edits change the object's class ("a red ball" -> "a red cone", the
colour kept when the new class comes in it): its region should take the new
class. Classes, colours and grounds are the world's own (the tiny SD model's
training words); the draw is seeded, so the list is reproducible.
"""
import argparse
import json
import random

from projects.demo_world.demo_world.appearance import CLASS_COLOR_NAMES, GROUND_PHRASES, get_domain
from projects.demo_world.demo_world.metainfo import ARTICULATED_CLASS, OBJECT_CLASSES
from projects.demo_world.demo_world.prompts import colour_phrase

# the classes a swap turns into each other (a person has a skeleton: no swap to or from it)
SWAP_CLASSES = [c for c in OBJECT_CLASSES if c != ARTICULATED_CLASS]


def _object(cls: str, colour: str) -> str:
    if cls == ARTICULATED_CLASS:
        return f'a {cls} in {colour}'
    return f'{colour_phrase(colour)} {cls}'


def make_edits(num_attribute: int, num_swap: int, seed: int = 0) -> list:
    """The edits, as tools/edit.py reads them (dicts)."""
    rng = random.Random(seed)
    grounds = [GROUND_PHRASES[g] for g in get_domain('default').grounds]
    edits = []
    for k in range(num_attribute):
        cls = OBJECT_CLASSES[k % len(OBJECT_CLASSES)]
        before, after = rng.sample(list(CLASS_COLOR_NAMES[cls]), 2)
        ground = rng.choice(grounds)
        edits.append(dict(source=f'a photo of {_object(cls, before)} {ground}',
                          target=f'a photo of {_object(cls, after)} {ground}',
                          seed=rng.randrange(10**6), kind='attribute', **{'class': cls}))
    pairs = [(a, b) for a in SWAP_CLASSES for b in SWAP_CLASSES if a != b]
    for k in range(num_swap):
        old, new = pairs[k % len(pairs)]
        shared = [c for c in CLASS_COLOR_NAMES[old] if c in CLASS_COLOR_NAMES[new]]
        colour = rng.choice(shared)
        ground = rng.choice(grounds)
        edits.append(dict(source=f'a photo of {_object(old, colour)} {ground}',
                          target=f'a photo of {_object(new, colour)} {ground}',
                          seed=rng.randrange(10**6), kind='swap', **{'from': old, 'to': new}))
    return edits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--attribute', type=int, default=30, help='attribute edits')
    parser.add_argument('--swap', type=int, default=30, help='class swaps')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    edits = make_edits(args.attribute, args.swap, args.seed)
    with open(args.out, 'w') as f:
        f.writelines(json.dumps(e) + '\n' for e in edits)
    print(f'wrote {len(edits)} edits to {args.out}')


if __name__ == '__main__':
    main()
