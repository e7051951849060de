from .dataset_checks import check_data_config
from .dataset_configs import apply_pseudo_mask_root, dataset_nodes, set_data_root
from .demo_digits import DemoDigitsDataset
from .pixel_supervision_dataset import PixelSupervisionDataset, pixel_supervised_stems
from .transforms import AddImageLevelLabels, CheckSegMap

__all__ = ['AddImageLevelLabels', 'CheckSegMap', 'DemoDigitsDataset', 'PixelSupervisionDataset',
           'apply_pseudo_mask_root', 'check_data_config', 'dataset_nodes', 'pixel_supervised_stems',
           'set_data_root']
