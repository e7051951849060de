"""Image-level labels taken from a whole label map, before any crop."""
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from gain_mmseg.datasets.transforms.check_seg_map import validate_seg_map


@TRANSFORMS.register_module()
class AddImageLevelLabels(BaseTransform):
    """Store the classes of the whole image as ``results['img_labels']``.

    Place it right after ``LoadAnnotations``: a later crop may cut a class out of view, but
    an image-level label describes the whole image, so it is read before the crop. Add
    ``'img_labels'`` to ``PackSegInputs``' ``meta_keys`` so the model receives it.

    The mask is checked first (:func:`validate_seg_map`): a value outside the classes, or a
    mask of another size than its image, is an error naming the file — never silently
    dropped labels.

    Required keys: ``gt_seg_map`` (H, W), ``img``. Added keys: ``img_labels`` (list of class
    indices, background included).

    Args:
        num_classes: number of classes, background included.
        ignore_index: label value that names no class. Default 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        present = validate_seg_map(results, self.num_classes, self.ignore_index)
        results['img_labels'] = [int(c) for c in present]
        return results
