from .image_labels import batch_image_labels, foreground_indices, labels_from_mask

__all__ = ['batch_image_labels', 'foreground_indices', 'labels_from_mask']
