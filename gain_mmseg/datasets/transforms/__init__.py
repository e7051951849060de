from .check_seg_map import CheckSegMap, validate_seg_map
from .image_level_labels import AddImageLevelLabels
from .loading import CheckedLoadAnnotations, CheckedLoadImageFromFile, unreadable_file_error

__all__ = ['AddImageLevelLabels', 'CheckSegMap', 'CheckedLoadAnnotations',
           'CheckedLoadImageFromFile', 'unreadable_file_error', 'validate_seg_map']
