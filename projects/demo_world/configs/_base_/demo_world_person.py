# mmpose dataset info of the demo world's people (14 keypoints), the format of mmpose's
# configs/_base_/datasets/*.py, for `metainfo=dict(from_file=...)` (e.g. CombinedDataset).
# The same as projects.demo_world.demo_world.pose_dataset_info() (a test compares them).
dataset_info = dict(
    dataset_name='demo_world_person',
    paper_info=dict(
        author='mmdatasetdm',
        title='DatasetDM demo world (procedural)',
        container='mmdatasetdm',
        year='2024',
        homepage='',
    ),
    keypoint_info={
        0: dict(name='head', id=0, color=[51, 153, 255], type='upper', swap=''),
        1: dict(name='neck', id=1, color=[51, 153, 255], type='upper', swap=''),
        2: dict(name='left_shoulder', id=2, color=[0, 255, 0], type='upper', swap='right_shoulder'),
        3:
        dict(name='right_shoulder', id=3, color=[255, 128, 0], type='upper', swap='left_shoulder'),
        4: dict(name='left_elbow', id=4, color=[0, 255, 0], type='upper', swap='right_elbow'),
        5: dict(name='right_elbow', id=5, color=[255, 128, 0], type='upper', swap='left_elbow'),
        6: dict(name='left_wrist', id=6, color=[0, 255, 0], type='upper', swap='right_wrist'),
        7: dict(name='right_wrist', id=7, color=[255, 128, 0], type='upper', swap='left_wrist'),
        8: dict(name='left_hip', id=8, color=[0, 255, 0], type='lower', swap='right_hip'),
        9: dict(name='right_hip', id=9, color=[255, 128, 0], type='lower', swap='left_hip'),
        10: dict(name='left_knee', id=10, color=[0, 255, 0], type='lower', swap='right_knee'),
        11: dict(name='right_knee', id=11, color=[255, 128, 0], type='lower', swap='left_knee'),
        12: dict(name='left_ankle', id=12, color=[0, 255, 0], type='lower', swap='right_ankle'),
        13: dict(name='right_ankle', id=13, color=[255, 128, 0], type='lower', swap='left_ankle'),
    },
    skeleton_info={
        0: dict(link=('head', 'neck'), id=0, color=[51, 153, 255]),
        1: dict(link=('neck', 'left_shoulder'), id=1, color=[0, 255, 0]),
        2: dict(link=('neck', 'right_shoulder'), id=2, color=[255, 128, 0]),
        3: dict(link=('left_shoulder', 'left_elbow'), id=3, color=[0, 255, 0]),
        4: dict(link=('left_elbow', 'left_wrist'), id=4, color=[0, 255, 0]),
        5: dict(link=('right_shoulder', 'right_elbow'), id=5, color=[255, 128, 0]),
        6: dict(link=('right_elbow', 'right_wrist'), id=6, color=[255, 128, 0]),
        7: dict(link=('left_shoulder', 'left_hip'), id=7, color=[0, 255, 0]),
        8: dict(link=('right_shoulder', 'right_hip'), id=8, color=[255, 128, 0]),
        9: dict(link=('left_hip', 'right_hip'), id=9, color=[255, 128, 0]),
        10: dict(link=('left_hip', 'left_knee'), id=10, color=[0, 255, 0]),
        11: dict(link=('left_knee', 'left_ankle'), id=11, color=[0, 255, 0]),
        12: dict(link=('right_hip', 'right_knee'), id=12, color=[255, 128, 0]),
        13: dict(link=('right_knee', 'right_ankle'), id=13, color=[255, 128, 0]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    sigmas=[
        0.05, 0.07, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089,
        0.089
    ],
)
