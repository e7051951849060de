"""Masks checked as they are read: values and size, with the file named."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def validate_seg_map(results: dict, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Raise a ValueError naming the mask file when ``results['gt_seg_map']`` (H, W) holds a
    value outside ``[0, num_classes) ∪ {ignore_index}`` or differs in size from the image
    (``results['img']`` or ``ori_shape``) it labels. Returns the classes present (sorted,
    ``ignore_index`` left out), so that a caller needs no second pass over the mask."""
    mask = results['gt_seg_map']
    path = results.get('seg_map_path', '<mask>')
    image = results['img'].shape[:2] if 'img' in results else results.get('ori_shape')
    if image is not None and tuple(mask.shape[:2]) != tuple(image[:2]):
        raise ValueError(f'mask {path!r} is {mask.shape[1]}x{mask.shape[0]} px but its image '
                         f"{results.get('img_path', '')!r} is {image[1]}x{image[0]} px")
    values = np.unique(mask)
    bad = values[(values != ignore_index) & ((values < 0) | (values >= num_classes))]
    if bad.size:
        raise ValueError(f'mask {path!r} holds values {bad.tolist()[:10]} outside the '
                         f'{num_classes} classes [0, {num_classes}) and the ignore value '
                         f'{ignore_index}')
    return values[values != ignore_index]


@TRANSFORMS.register_module()
class CheckSegMap(BaseTransform):
    """Check the mask just loaded (:func:`validate_seg_map`); place it after
    ``LoadAnnotations``. Required keys: ``gt_seg_map``, ``img`` (or ``ori_shape``).

    Args:
        num_classes: number of classes, background included.
        ignore_index: label value that names no class. Default 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        validate_seg_map(results, self.num_classes, self.ignore_index)
        return results
