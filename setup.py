"""mmdatasetdm: DatasetDM (synthesising perception data with diffusion models) for OpenMMLab."""
import os.path as osp
from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mmdatasetdm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmdatasetdm',
    version=read_version(),
    description='DatasetDM for MMSegmentation, MMDetection and MMPose: '
    'a frozen diffusion model plus a perception decoder as a data generator',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    python_requires='>=3.9',
    # Exact versions: requirements/constraints.txt; install: scripts/setup_env.sh.
    install_requires=['mmengine', 'mmcv', 'mmsegmentation', 'mmdet', 'diffusers',
                      'transformers', 'safetensors', 'pycocotools'],
    license='Apache License 2.0',
    zip_safe=False,
)
