"""Class and keypoint metainfo of the demo world.

The same ids are used by every writer and reader:

* semantic masks: ``0`` is background, ``1..5`` are :data:`OBJECT_CLASSES` in
  order, ``255`` is ignore (reserved; the renderer labels every pixel);
* COCO JSON: category ``id`` equals the semantic id;
* COCO keypoints: the articulated class ``person`` with
  :data:`KEYPOINT_NAMES` (front-facing figures, so a person's *left* side is
  on the image's right), :data:`SKELETON` and OKS :data:`KEYPOINT_SIGMAS`.

The dicts at the bottom are shaped for the toolboxes: :data:`SEG_METAINFO` for
mmseg (``classes`` + ``palette``, background included), :data:`DET_METAINFO`
for mmdet (objects only), :data:`POSE_METAINFO` for mmpose
(``parse_pose_metainfo`` format). :data:`DEMO_WORLD_METAINFO` bundles them.
"""
from types import MappingProxyType

from mmdatasetdm.fileio import IGNORE_INDEX

BACKGROUND_ID = 0

OBJECT_CLASSES = ('person', 'car', 'cone', 'tree', 'ball')
SEG_CLASSES = ('background', ) + OBJECT_CLASSES
CLASS_IDS = MappingProxyType({name: i + 1 for i, name in enumerate(OBJECT_CLASSES)})

SEG_PALETTE = (
    (0, 0, 0),        # background
    (220, 20, 60),    # person
    (0, 0, 142),      # car
    (255, 140, 0),    # cone
    (34, 139, 34),    # tree
    (138, 43, 226),   # ball
)

ARTICULATED_CLASS = 'person'

KEYPOINT_NAMES = (
    'head', 'neck',
    'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist',
    'left_hip', 'right_hip',
    'left_knee', 'right_knee',
    'left_ankle', 'right_ankle',
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)

# Limbs as pairs of keypoint names (0-based indices: SKELETON).
SKELETON_LINKS = (
    ('head', 'neck'),
    ('neck', 'left_shoulder'), ('neck', 'right_shoulder'),
    ('left_shoulder', 'left_elbow'), ('left_elbow', 'left_wrist'),
    ('right_shoulder', 'right_elbow'), ('right_elbow', 'right_wrist'),
    ('left_shoulder', 'left_hip'), ('right_shoulder', 'right_hip'),
    ('left_hip', 'right_hip'),
    ('left_hip', 'left_knee'), ('left_knee', 'left_ankle'),
    ('right_hip', 'right_knee'), ('right_knee', 'right_ankle'),
)
SKELETON = tuple((KEYPOINT_NAMES.index(a), KEYPOINT_NAMES.index(b)) for a, b in SKELETON_LINKS)

# OKS sigmas, chosen like COCO's for the corresponding joints
# (the head centre is a rounder target than COCO's nose, so a larger sigma).
KEYPOINT_SIGMAS = (0.05, 0.07, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                   0.107, 0.107, 0.087, 0.087, 0.089, 0.089)

FLIP_PAIRS = tuple(
    (KEYPOINT_NAMES.index(n), KEYPOINT_NAMES.index('right_' + n[len('left_'):]))
    for n in KEYPOINT_NAMES if n.startswith('left_'))

_UPPER = {'head', 'neck', 'left_shoulder', 'right_shoulder', 'left_elbow',
          'right_elbow', 'left_wrist', 'right_wrist'}


def _swap_name(name: str) -> str:
    if name.startswith('left_'):
        return 'right_' + name[len('left_'):]
    if name.startswith('right_'):
        return 'left_' + name[len('right_'):]
    return ''


def _keypoint_color(name: str) -> list:
    if name.startswith('left_'):
        return [0, 255, 0]
    if name.startswith('right_'):
        return [255, 128, 0]
    return [51, 153, 255]


def pose_dataset_info() -> dict:
    """The person keypoint metainfo in mmpose's ``dataset_info`` format.

    Returns:
        dict: with ``dataset_name``, ``paper_info``, ``keypoint_info``,
        ``skeleton_info``, ``joint_weights`` and ``sigmas``; accepted by
        ``mmpose.datasets.datasets.utils.parse_pose_metainfo`` and usable as
        ``metainfo=`` of any mmpose COCO-style dataset.
    """
    keypoint_info = {
        i: dict(name=name, id=i, color=_keypoint_color(name),
                type='upper' if name in _UPPER else 'lower', swap=_swap_name(name))
        for i, name in enumerate(KEYPOINT_NAMES)
    }
    skeleton_info = {
        i: dict(link=link, id=i, color=_keypoint_color(link[1]))
        for i, link in enumerate(SKELETON_LINKS)
    }
    return dict(
        dataset_name='demo_world_person',
        paper_info=dict(
            author='mmdatasetdm', title='DatasetDM demo world (procedural)',
            container='mmdatasetdm', year='2024', homepage=''),
        keypoint_info=keypoint_info,
        skeleton_info=skeleton_info,
        joint_weights=[1.0] * NUM_KEYPOINTS,
        sigmas=list(KEYPOINT_SIGMAS),
    )


def coco_categories(keypoints_only: bool = False) -> list:
    """COCO ``categories`` entries of the demo world.

    Args:
        keypoints_only (bool): Return only the articulated class, with its
            ``keypoints`` names and 1-based ``skeleton`` (COCO convention).

    Returns:
        list[dict]: COCO category dicts with ``id`` equal to the semantic id.
    """
    cats = []
    for name in OBJECT_CLASSES:
        if keypoints_only and name != ARTICULATED_CLASS:
            continue
        cat = dict(id=CLASS_IDS[name], name=name, supercategory='object')
        if name == ARTICULATED_CLASS:
            cat['keypoints'] = list(KEYPOINT_NAMES)
            cat['skeleton'] = [[a + 1, b + 1] for a, b in SKELETON]
        cats.append(cat)
    return cats


SEG_METAINFO = dict(classes=SEG_CLASSES, palette=[list(c) for c in SEG_PALETTE])
DET_METAINFO = dict(classes=OBJECT_CLASSES, palette=[tuple(c) for c in SEG_PALETTE[1:]])
POSE_METAINFO = pose_dataset_info()

DEMO_WORLD_METAINFO = dict(
    seg=SEG_METAINFO,
    det=DET_METAINFO,
    pose=POSE_METAINFO,
    object_classes=OBJECT_CLASSES,
    class_ids=dict(CLASS_IDS),
    ignore_index=IGNORE_INDEX,
    keypoint_names=KEYPOINT_NAMES,
    skeleton=SKELETON,
    sigmas=KEYPOINT_SIGMAS,
    flip_pairs=FLIP_PAIRS,
)
