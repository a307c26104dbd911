"""On-disk layout of a demo world (VOC-like folders + COCO JSON).

::

    <root>/
      meta.json                             seed, size, depth scale, classes, palette,
                                            keypoint metainfo, splits (written last)
      images/<split>/{index:08d}.png        RGB images (every split)
      captions/<split>.jsonl                {"image_id", "file_name", "caption", "alt_captions"}
                                            per line (every split)
      splits/<split>.txt                    one image stem ({index:08d}) per line (labelled splits)
      semantic/<split>/{index:08d}.png      uint8 class ids, 0 = background, 255 = ignore
      depth/<split>/{index:08d}.png         uint16 depth in metres x depth_scale (1000 -> mm),
                                            0 = no depth (sky)
      annotations/instances_<split>.json    COCO instances, RLE masks, category id = class id
      annotations/keypoints_<split>.json    COCO keypoints of the person class

COCO ``file_name`` is relative to ``images/<split>/``; image ``id`` is
``index + 1``; annotation ``id`` is ``image_id * 1000 + instance id``.
The ``pool`` split is unlabelled: images and captions only. ``caption``
names every object shown; ``alt_captions`` are shorter true captions of the
same image (one per class, when it shows several), like the several captions
per image of COCO captions.
"""
import os.path as osp

from mmdatasetdm.fileio import read_jsonl

IMAGE_DIR = 'images'
SEMANTIC_DIR = 'semantic'
DEPTH_DIR = 'depth'
SPLIT_DIR = 'splits'
CAPTION_DIR = 'captions'
ANNOTATION_DIR = 'annotations'
META_FILE = 'meta.json'
IMAGE_SUFFIX = '.png'


class WorldLayout:
    """Paths of a demo world under ``root`` (relative paths via ``rel_*``).

    Args:
        root (str): The world's root folder.
    """

    def __init__(self, root: str):
        self.root = str(root)

    def _abs(self, rel: str) -> str:
        return osp.join(self.root, rel)

    @staticmethod
    def stem(index: int) -> str:
        """File stem of image ``index``."""
        return f'{int(index):08d}'

    # relative paths (what configs and JSON files refer to)
    @staticmethod
    def rel_image_dir(split: str) -> str:
        return f'{IMAGE_DIR}/{split}'

    @staticmethod
    def rel_semantic_dir(split: str) -> str:
        return f'{SEMANTIC_DIR}/{split}'

    @staticmethod
    def rel_depth_dir(split: str) -> str:
        return f'{DEPTH_DIR}/{split}'

    @staticmethod
    def rel_split_file(split: str) -> str:
        return f'{SPLIT_DIR}/{split}.txt'

    @staticmethod
    def rel_captions(split: str) -> str:
        return f'{CAPTION_DIR}/{split}.jsonl'

    @staticmethod
    def rel_instances(split: str) -> str:
        return f'{ANNOTATION_DIR}/instances_{split}.json'

    @staticmethod
    def rel_keypoints(split: str) -> str:
        return f'{ANNOTATION_DIR}/keypoints_{split}.json'

    @classmethod
    def rel_image(cls, split: str, index: int) -> str:
        return f'{cls.rel_image_dir(split)}/{cls.stem(index)}{IMAGE_SUFFIX}'

    # absolute paths
    def image(self, split: str, index: int) -> str:
        """Path of the RGB image."""
        return self._abs(self.rel_image(split, index))

    def semantic(self, split: str, index: int) -> str:
        """Path of the semantic mask."""
        return self._abs(f'{self.rel_semantic_dir(split)}/{self.stem(index)}.png')

    def depth(self, split: str, index: int) -> str:
        """Path of the 16-bit depth PNG."""
        return self._abs(f'{self.rel_depth_dir(split)}/{self.stem(index)}.png')

    def split_file(self, split: str) -> str:
        """Path of the split file (image stems)."""
        return self._abs(self.rel_split_file(split))

    def captions(self, split: str) -> str:
        """Path of the captions JSON-lines file."""
        return self._abs(self.rel_captions(split))

    def instances(self, split: str) -> str:
        """Path of the COCO instances JSON."""
        return self._abs(self.rel_instances(split))

    def keypoints(self, split: str) -> str:
        """Path of the COCO keypoints JSON."""
        return self._abs(self.rel_keypoints(split))

    @property
    def meta(self) -> str:
        """Path of ``meta.json``."""
        return self._abs(META_FILE)


def read_caption_records(path: str) -> list:
    """The records of a captions file, in file order.

    Args:
        path (str): ``captions/<split>.jsonl``.

    Returns:
        list[dict]: ``{"image_id", "file_name", "caption", "alt_captions"}`` per image.

    Raises:
        ValueError: On a line that is not JSON or lacks ``file_name`` or ``caption``
            (names the line).
    """
    records = []
    for lineno, record in read_jsonl(path):
        if 'file_name' not in record or 'caption' not in record:
            raise ValueError(f'{path}:{lineno}: expected "file_name" and "caption" fields')
        records.append(record)
    return records


def read_captions(path: str) -> dict:
    """Read a captions file.

    Args:
        path (str): ``captions/<split>.jsonl``.

    Returns:
        dict[str, str]: Image stem (``{index:08d}``) -> caption.

    Raises:
        ValueError: On a line without ``file_name`` or ``caption`` (names the line).
    """
    return {osp.splitext(osp.basename(r['file_name']))[0]: r['caption']
            for r in read_caption_records(path)}
