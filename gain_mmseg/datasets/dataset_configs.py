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


def apply_pseudo_mask_root(cfg) -> None:
    """Point every training dataset of a stage-2 config at stage 1's pseudo masks.

    A stage-2 config declares ``pseudo_mask_root`` (None: not yet known); the tools apply it
    after ``--cfg-options``, so ``--cfg-options pseudo_mask_root=DIR`` works whatever wrappers
    (``ConcatDataset``) the training set has. A relative ``DIR`` is relative to the working
    directory, like ``--work-dir``. Configs without the key are left alone.

    Raises:
        ValueError: the config declares the key but leaves it None.
        FileNotFoundError: ``DIR`` is not a folder.
    """
    if 'pseudo_mask_root' not in cfg:
        return
    root = cfg.pseudo_mask_root
    name = getattr(cfg, 'filename', None) or 'the config'
    if root is None:
        raise ValueError(
            f'{name}: pseudo_mask_root is not set: give the folder of stage 1\'s pseudo masks '
            "(`--cfg-options pseudo_mask_root=DIR`; tools/run_pipeline.py sets it)")
    if not osp.isdir(root):
        raise FileNotFoundError(f'{name}: pseudo_mask_root {root!r} is not a folder')
    cfg.pseudo_mask_root = osp.abspath(root)
    for _, ds, leaf in dataset_nodes(cfg.train_dataloader['dataset']):
        if leaf:
            ds.setdefault('data_prefix', {})['seg_map_path'] = cfg.pseudo_mask_root
