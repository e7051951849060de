"""Demo dataset: handwritten digits pasted onto real photographs, in Pascal VOC layout."""
from mmengine import fileio
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class DemoDigitsDataset(BaseSegDataset):
    """Digits 0-9 on photographic backgrounds (``tools/dataset_converters/demo_digits.py``).

    Layout (as Pascal VOC)::

        data_root/
            JPEGImages/<stem>.jpg           RGB image, uint8 (H, W, 3)
            SegmentationClass/<stem>.png    palette PNG, uint8 (H, W), value = class index
            ImageSets/Segmentation/{train,val}.txt

    Class 0 is background and class ``d + 1`` is digit ``d``. There is no ignore label in the
    masks, and index 0 is a real class, so ``reduce_zero_label`` stays False.

    Args:
        ann_file: split file listing one image stem per line.
        img_suffix: suffix of the images.
        seg_map_suffix: suffix of the label maps.
    """

    METAINFO = dict(
        classes=('background', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'),
        # The first 11 colours of the Pascal VOC colour map, so masks read like VOC masks.
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
                 [128, 0, 128], [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0],
                 [64, 128, 0]])

    def __init__(self,
                 ann_file: str,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            ann_file=ann_file,
            **kwargs)
        # A wrong data_root otherwise surfaces later as an empty dataset or a missing image.
        assert fileio.exists(self.data_prefix['img_path'], self.backend_args), (
            f'image folder {self.data_prefix["img_path"]} not found')
        assert fileio.exists(self.ann_file, self.backend_args), (
            f'split file {self.ann_file} not found')
