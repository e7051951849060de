from .check_seg_map import CheckSegMap, validate_seg_map
from .image_level_labels import AddImageLevelLabels

__all__ = ['AddImageLevelLabels', 'CheckSegMap', 'validate_seg_map']
