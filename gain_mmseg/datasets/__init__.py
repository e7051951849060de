from .dataset_checks import check_data_config
from .dataset_configs import dataset_nodes, set_data_root
from .demo_digits import DemoDigitsDataset
from .image_labels import batch_image_labels, foreground_indices, labels_from_mask
from .pixel_supervision_dataset import PixelSupervisionDataset
from .transforms import AddImageLevelLabels, CheckSegMap

__all__ = ['AddImageLevelLabels', 'CheckSegMap', 'DemoDigitsDataset', 'PixelSupervisionDataset',
           'batch_image_labels', 'check_data_config', 'dataset_nodes', 'foreground_indices',
           'labels_from_mask', 'set_data_root']
