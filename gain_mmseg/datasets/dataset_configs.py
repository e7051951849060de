"""Dataset configs inside wrappers: one walk over them, and ``--data-root`` on top of it."""
import os.path as osp
from typing import Iterator, Tuple


def dataset_nodes(ds: dict, key: str = '') -> Iterator[Tuple[str, dict, bool]]:
    """Every dataset config in ``ds`` — ``ds`` itself, then the datasets its wrappers hold
    (``datasets`` of ``ConcatDataset``, ``dataset`` of ``PixelSupervisionDataset`` and other
    wrappers) — as ``(key, config, is_leaf)``; ``key`` is its ``--cfg-options`` path below
    ``key`` (e.g. ``'<key>.datasets.1'``)."""
    children = [(f'{key}.datasets.{i}', d) for i, d in enumerate(ds.get('datasets') or [])]
    if not children and isinstance(ds.get('dataset'), dict):
        children = [(f'{key}.dataset', ds['dataset'])]
    yield key, ds, not children
    for child_key, child in children:
        yield from dataset_nodes(child, child_key)


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
            for _, ds, leaf in dataset_nodes(cfg[key]['dataset']):
                if leaf:
                    ds['data_root'] = root
