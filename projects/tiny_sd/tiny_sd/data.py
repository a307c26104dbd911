"""The training data of the tiny SD model: a world's images with their captions.

The images and captions are read from a demo world's layout
(:mod:`projects.demo_world.demo_world.layout`); each image may carry several
true captions, one drawn per step (:class:`CaptionBank`).
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from mmdatasetdm.diffusion import tokenize
from mmdatasetdm.fileio import read_rgb
from projects.demo_world.demo_world.layout import WorldLayout, read_caption_records


def load_image_folder_split(world: str, split: str = 'pool', limit: Optional[int] = None,
                            alt_captions: bool = False) -> Tuple[torch.Tensor, list]:
    """Read a split's images and captions (the demo world's layout).

    Args:
        world (str): root with ``images/<split>/`` and ``captions/<split>.jsonl``
            (lines of ``{"image_id", "file_name", "caption"}``, optionally
            with ``"alt_captions"``: more captions of the same image).
        split (str): split name.
        limit (int, optional): read only the first ``limit`` captions.
        alt_captions (bool): return every caption of an image (a list, the
            main ``caption`` first) instead of the main caption alone.

    Returns:
        tuple: ``images`` (uint8 Tensor, shape (N, 3, H, W)) and their captions
        (``str`` each, or ``list[str]`` each with ``alt_captions``).
    """
    layout = WorldLayout(world)
    captions_file = layout.captions(split)
    if not osp.isfile(captions_file):
        raise FileNotFoundError(
            f'{captions_file} not found; make the world first, e.g. '
            f'projects/demo_world/tools/make_demo_world.py --out {world} --splits {split}')
    records = read_caption_records(captions_file)
    records = records[:limit] if limit else records
    if not records:
        raise ValueError(f'{captions_file} has no captions')
    images, captions = [], []
    for record in records:
        name = record['file_name']
        path = name if osp.isabs(name) else osp.join(world, layout.rel_image_dir(split),
                                                     osp.basename(name))
        images.append(read_rgb(path))
        if alt_captions:
            alternatives = record.get('alt_captions', [])
            if not isinstance(alternatives, list):
                raise ValueError(f'{captions_file}: "alt_captions" of {name} must be a list of '
                                 f'strings, got {type(alternatives).__name__}')
            captions.append([record['caption']] + list(alternatives))
        else:
            captions.append(record['caption'])
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f'images of {world}/{split} differ in size: {sorted(shapes)}')
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), captions


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) in [0, 255] -> float in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def caption_groups(captions: Sequence[Union[str, Sequence[str]]]) -> List[List[str]]:
    """Every image's captions as a list: a caption, or a list of captions, per image."""
    return [[c] if isinstance(c, str) else list(c) for c in captions]


@dataclass
class CaptionBank:
    """Token ids of every image's captions, for drawing one per image and step.

    An image may have several true captions (COCO has five per image); training
    on a random one each time it is drawn teaches the model each of them.

    Args:
        input_ids (Tensor): int64, shape (M, L), all captions of all images.
        first (Tensor): int64, shape (N,), row of image ``i``'s first caption.
        count (Tensor): int64, shape (N,), how many captions image ``i`` has.
    """

    input_ids: torch.Tensor
    first: torch.Tensor
    count: torch.Tensor

    @classmethod
    def from_captions(cls, tokenizer, captions: Sequence[Union[str, Sequence[str]]]
                      ) -> 'CaptionBank':
        """Tokenize ``captions``: one caption, or a list of captions, per image."""
        groups = caption_groups(captions)
        for i, group in enumerate(groups):
            if not group:
                raise ValueError(f'image {i} has an empty caption list')
        count = torch.tensor([len(g) for g in groups], dtype=torch.long)
        first = torch.cumsum(count, 0) - count
        return cls(tokenize(tokenizer, [c for g in groups for c in g]), first, count)

    def __len__(self) -> int:
        return len(self.first)

    def draw(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Token ids of one caption per image in ``index``, shape (B, L).

        Draws no random number when every image has a single caption, so a
        bank of single captions gives exactly the old training sequence.
        """
        if int(self.count.max()) == 1:
            return self.input_ids[self.first[index]].clone()
        pick = (torch.rand(len(index), generator=generator) * self.count[index]).long()
        return self.input_ids[self.first[index] + pick.clamp(max=self.count[index] - 1)].clone()
