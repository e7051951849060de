"""GAIN (Guided Attention Inference Network, Li et al., CVPR 2018) for MMSegmentation 1.x.

``custom_imports = dict(imports=['gain_mmseg'], allow_failed_imports=False)`` in an mmseg
config registers every component below into mmseg's registries.
"""
from . import compat  # noqa: F401  (must run before any checkpoint is loaded)
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .structures import *  # noqa: F401,F403

__version__ = '0.1.0'
