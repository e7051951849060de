"""Point every dataset of a config at one data folder (the tools' ``--data-root``)."""
import os.path as osp
from typing import Iterator


def set_data_root(cfg, root: str) -> None:
    """Set ``data_root`` of every dataset of ``cfg``'s train, val and test dataloaders, inside
    wrappers (``ConcatDataset``, ``PixelSupervisionDataset``) too.

    mmengine substitutes a config's top-level ``data_root`` into its datasets when the file is
    read, so overriding the variable afterwards changes nothing; this changes each dataset.
    Raises FileNotFoundError when ``root`` is not a folder.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'data root {root!r} is not a folder')
    cfg.data_root = root
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) and cfg[key].get('dataset'):
            for ds in _leaf_datasets(cfg[key]['dataset']):
                ds['data_root'] = root


def _leaf_datasets(ds: dict) -> Iterator[dict]:
    if ds.get('datasets'):
        for d in ds['datasets']:
            yield from _leaf_datasets(d)
    elif isinstance(ds.get('dataset'), dict):
        yield from _leaf_datasets(ds['dataset'])
    else:
        yield ds
