"""mmseg datasets reading a demo world: semantic masks and depth maps."""
import os.path as osp
from typing import List, Optional

from mmseg.datasets import BaseSegDataset, NYUDataset

from mmdatasetdm.registry import DATASETS
from .layout import IMAGE_SUFFIX, WorldLayout, read_captions
from .metainfo import IGNORE_INDEX, SEG_METAINFO


def attach_captions(data_list: List[dict], data_root: Optional[str], split: str) -> List[dict]:
    """Add each image's caption (``captions/<split>.jsonl``) to its data info.

    Args:
        data_list (list[dict]): mmseg data infos with ``img_path``.
        data_root (str, optional): the world root.
        split (str): the split the infos come from.

    Returns:
        list[dict]: the same infos, each with ``'caption'``.

    Raises:
        KeyError: an image has no caption (names the caption file).
    """
    path = osp.join(data_root or '', WorldLayout.rel_captions(split))
    captions = read_captions(path)
    for info in data_list:
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        if stem not in captions:
            raise KeyError(f'{path}: no caption for image {stem!r}')
        info['caption'] = captions[stem]
    return data_list


@DATASETS.register_module()
class DemoWorldSegDataset(BaseSegDataset):
    """Semantic segmentation on a demo-world split (stock :class:`BaseSegDataset`).

    Either give ``split`` (fills ``ann_file`` and ``data_prefix`` from the
    world layout) or the usual ``ann_file``/``data_prefix`` yourself.

    Args:
        split (str, optional): Split name, e.g. ``'train_100'`` or ``'test'``.
        img_suffix (str): Image suffix. Defaults to ``'.png'``.
        seg_map_suffix (str): Mask suffix. Defaults to ``'.png'``.
        reduce_zero_label (bool): Defaults to False (0 is the background class).
        ignore_index (int): Defaults to 255.
        with_caption (bool): Add each image's caption (``captions/<split>.jsonl``)
            to its data info as ``'caption'`` (needs ``split``). Defaults to False.
        **kwargs: Other :class:`BaseSegDataset` arguments (``data_root``, ``pipeline``, ...).
    """
    METAINFO = dict(classes=SEG_METAINFO['classes'], palette=SEG_METAINFO['palette'])

    def __init__(self, split: Optional[str] = None, img_suffix: str = IMAGE_SUFFIX,
                 seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 ignore_index: int = IGNORE_INDEX, with_caption: bool = False,
                 **kwargs) -> None:
        if with_caption and split is None:
            raise ValueError('DemoWorldSegDataset: with_caption=True needs split=')
        self.split = split
        self.with_caption = with_caption
        if split is not None:
            kwargs.setdefault('ann_file', WorldLayout.rel_split_file(split))
            kwargs.setdefault('data_prefix', dict(img_path=WorldLayout.rel_image_dir(split),
                                                  seg_map_path=WorldLayout.rel_semantic_dir(split)))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, ignore_index=ignore_index, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the split's image/mask pairs (plus captions if ``with_caption``).

        Returns:
            list[dict]: mmseg data infos.
        """
        data_list = super().load_data_list()
        if self.with_caption:
            attach_captions(data_list, self.data_root, self.split)
        return data_list


@DATASETS.register_module()
class DemoWorldDepthDataset(NYUDataset):
    """Depth estimation on a demo-world split (stock mmseg :class:`NYUDataset`).

    Depth PNGs hold metres x ``depth_scale`` (``meta.json``; 1000 by default),
    so load them with ``dict(type='mmseg.LoadDepthAnnotation',
    depth_rescale_factor=1e-3)``. Pixels with value 0 (sky) have no depth.

    Args:
        split (str, optional): Split name; fills ``data_prefix``.
        img_suffix (str): Image suffix. Defaults to ``'.png'``.
        depth_map_suffix (str): Depth suffix. Defaults to ``'.png'``.
        with_caption (bool): Add each image's caption to its data info as
            ``'caption'`` (needs ``split``). Defaults to False.
        **kwargs: Other :class:`NYUDataset` arguments.
    """

    def __init__(self, split: Optional[str] = None, img_suffix: str = IMAGE_SUFFIX,
                 depth_map_suffix: str = '.png', with_caption: bool = False, **kwargs) -> None:
        if with_caption and split is None:
            raise ValueError('DemoWorldDepthDataset: with_caption=True needs split=')
        self.split = split
        self.with_caption = with_caption
        if split is not None:
            kwargs.setdefault('data_prefix', dict(img_path=WorldLayout.rel_image_dir(split),
                                                  depth_map_path=WorldLayout.rel_depth_dir(split)))
        super().__init__(img_suffix=img_suffix, depth_map_suffix=depth_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the split's image/depth pairs (plus captions if ``with_caption``).

        Returns:
            list[dict]: mmseg data infos.
        """
        data_list = super().load_data_list()
        return attach_captions(data_list, self.data_root, self.split) if self.with_caption \
            else data_list
