"""The images to label: a config's dataset with an inference pipeline (no augmentation)."""
import copy

from mmengine.config import Config
from mmseg.registry import DATASETS

from gain_mmseg.datasets.dataset_configs import dataset_nodes

INFERENCE_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=None),  # the model's, set below
    dict(type='PackSegInputs'),
]


def inference_dataset_cfg(cfg: Config, split: str = 'train',
                          keep_pixel_supervision: bool = False) -> dict:
    """Config of ``<split>_dataloader.dataset`` with every pipeline replaced by the inference
    one: each image at its stored size (the generator's ``ref_size`` and scales resize it),
    its mask checked against the model's ``num_classes`` (:class:`CheckSegMap`). A
    :class:`PixelSupervisionDataset` wrapper is dropped (pseudo masks are made for every
    image), unless ``keep_pixel_supervision``: then its images keep their
    ``pixel_supervised`` flag (for the generator's ``keep_pixel_masks``). ``ConcatDataset``
    and other wrappers keep their structure."""
    key = f'{split}_dataloader'
    if key not in cfg:
        raise KeyError(f'the config has no {key!r} to take the {split!r} images from')
    ds = copy.deepcopy(cfg[key]['dataset'])
    if ds.get('type') == 'PixelSupervisionDataset' and not keep_pixel_supervision:
        ds = ds['dataset']
    pipeline = copy.deepcopy(INFERENCE_PIPELINE)
    pipeline[2]['num_classes'] = cfg.model.decode_head.num_classes
    for _, node, _ in dataset_nodes(ds):
        if 'pipeline' in node:
            node['pipeline'] = copy.deepcopy(pipeline)
    return ds


def build_inference_dataset(cfg: Config, split: str = 'train',
                            keep_pixel_supervision: bool = False):
    """Build the dataset of :func:`inference_dataset_cfg`."""
    return DATASETS.build(inference_dataset_cfg(cfg, split, keep_pixel_supervision))
