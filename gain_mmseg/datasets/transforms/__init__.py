from .image_level_labels import AddImageLevelLabels

__all__ = ['AddImageLevelLabels']
