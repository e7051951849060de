"""Checks of a config's datasets before a run: the folders and split files exist, each split
lists images, and the model has as many classes as the dataset. Each failure names the
dataloader, the file and the problem, instead of surfacing later inside a worker or a metric
(an empty split crashes IoUMetric with ``need at least one array to concatenate``)."""
import os.path as osp
from typing import Iterable, List, Optional, Sequence

from mmseg.registry import DATASETS

from gain_mmseg.datasets.dataset_configs import dataset_nodes

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _under(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def dataset_classes(ds: dict) -> Optional[Sequence[str]]:
    """The class names a dataset config will have: its ``metainfo.classes`` or its class's
    ``METAINFO``; None for a type not registered in mmseg's ``DATASETS``."""
    classes = (ds.get('metainfo') or {}).get('classes')
    if classes is not None:
        return classes
    dataset_type = ds.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    return getattr(cls, 'METAINFO', {}).get('classes') if cls is not None else None


def head_num_classes(model: dict) -> List[tuple]:
    """``(name, num_classes)`` of the model's decode and auxiliary heads (TTA models too)."""
    model = model.get('module', model)
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        cfgs = model.get(key) or []
        for i, head in enumerate(cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]):
            if head.get('num_classes') is not None:
                name = key if isinstance(model.get(key), dict) else f'{key}.{i}'
                heads.append((name, head['num_classes']))
    return heads


def check_split(ds: dict, where: str) -> None:
    """Raise FileNotFoundError / ValueError, naming ``where`` and the path, unless the leaf
    dataset config ``ds`` has an existing ``data_root``, image folder and split file, and the
    split file lists at least one image."""
    root = ds.get('data_root') or ''
    if root and not osp.isdir(root):
        raise FileNotFoundError(f'{where}: data_root {root!r} is not a folder')
    prefix = (ds.get('data_prefix') or {}).get('img_path')
    if prefix and not osp.isdir(_under(root, prefix)):
        raise FileNotFoundError(f'{where}: image folder {_under(root, prefix)!r} does not exist')
    ann_file = ds.get('ann_file')
    if ann_file:
        path = _under(root, ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{where}: split file {path!r} does not exist')
        with open(path, encoding='utf-8', errors='replace') as f:
            if not any(line.strip() for line in f):
                raise ValueError(f'{where}: split file {path!r} lists no images')


def check_data_config(cfg, dataloaders: Iterable[str] = DATALOADERS) -> None:
    """Check every dataset of ``cfg``'s ``dataloaders`` (inside wrappers too) with
    :func:`check_split`, and that each head's ``num_classes`` equals the number of classes
    of each dataset (a ValueError naming both); dataloaders the config lacks are skipped."""
    heads = head_num_classes(cfg.get('model') or {})
    source = getattr(cfg, 'filename', None) or 'the config'
    for key in dataloaders:
        loader = cfg.get(key)
        if not loader or not loader.get('dataset'):
            continue
        for node_key, ds, leaf in dataset_nodes(loader['dataset'], f'{key}.dataset'):
            if not leaf:
                continue
            check_split(ds, f'{source}: {node_key}')
            classes = dataset_classes(ds)
            for name, num in heads:
                if classes is not None and num != len(classes):
                    raise ValueError(
                        f'{source}: model.{name}.num_classes is {num} but {node_key} '
                        f'({ds.get("type")}) has {len(classes)} classes {tuple(classes)[:5]}...; '
                        'set num_classes to the number of classes, background included')
