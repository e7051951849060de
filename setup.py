"""gain-mmseg: Guided Attention Inference Network (GAIN) as an MMSegmentation 1.x plug-in."""
from setuptools import find_packages, setup

setup(
    name='gain-mmseg',
    version='0.1.0',
    description='Guided Attention Inference Network (GAIN, CVPR 2018) for MMSegmentation 1.x',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['gain_mmseg', 'gain_mmseg.*']),
    python_requires='>=3.9',
    # torch, torchvision and mmcv are not listed: mmcv 2.1.0 has no wheels and must be built
    # against the installed torch without build isolation (see tools/install_env.sh).
    install_requires=[
        'mmengine>=0.10.0,<1.0',
        'mmsegmentation>=1.2.0,<1.3',
        'mmpretrain>=1.2.0,<1.3',
        'numpy',
        'ftfy',
        'regex',
        # The photograph and VOC GAIN configs refine their pseudo masks with the dense CRF.
        'pydensecrf2',
    ],
    extras_require={
        'demo': ['scikit-image', 'scikit-learn'],
        'tests': ['pytest', 'ruff'],
    },
    license='Apache-2.0',
)
