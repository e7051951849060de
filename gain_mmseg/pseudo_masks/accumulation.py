"""Attention accumulated over training (OAA: Jiang et al., "Integral Object Mining via Online
Attention Accumulation", ICCV 2019): per image and class, the element-wise maximum of the
normalised attention maps the model gives at several points of stage 1. A classifier's
attention wanders over the object while it trains; the maximum keeps every part it visited,
where the final model's map keeps only where it ended."""
import os
import os.path as osp
import zipfile

import numpy as np
import torch
from torch import Tensor

from gain_mmseg.fileio import TMP_MARK, atomic_path


class AttentionAccumulator:
    """A folder of running maps: ``<folder>/<stem>.npz`` holds ``maps`` (K, H, W) float16 in
    [0, 1] (the image's stored size) and ``classes`` (K,), the dataset class of each map. Each
    file is replaced atomically, so a killed run leaves the old maxima or the new ones.

    Args:
        folder: where the maps live; created if missing.
        clean_leftovers: remove a killed run's temporary files on opening. Default True (under
            distributed generation: rank 0 only).
    """

    def __init__(self, folder: str, clean_leftovers: bool = True) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        if clean_leftovers:
            for name in os.listdir(folder):
                if name.startswith('.') and TMP_MARK in name:
                    os.remove(osp.join(folder, name))

    def path(self, stem: str) -> str:
        """File of image ``stem``'s maps."""
        return osp.join(self.folder, f'{stem}.npz')

    def read(self, stem: str):
        """Stored ``(classes (K,), maps (K, H, W) float32)`` of ``stem``, or None if none yet.
        A file that does not hold such maps is an error naming it."""
        path = self.path(stem)
        if not osp.exists(path):
            return None
        try:
            with np.load(path) as data:
                return data['classes'], data['maps'].astype(np.float32)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise ValueError(f'{path}: not an accumulated-attention file '
                             f'(npz with maps and classes): {e}') from e

    def fuse(self, stem: str, classes: Tensor, maps: Tensor, update: bool = False) -> Tensor:
        """Element-wise max of ``maps`` (K, H, W) in [0, 1] of classes ``classes`` (K,) and
        the stored maps of ``stem``; with ``update`` the max is stored (the first call stores
        ``maps``). Stored maps of other classes or size are an error naming the file: they
        belong to another dataset or pipeline."""
        stored = self.read(stem)
        fused = maps
        if stored is not None:
            old_classes, old_maps = stored
            if (old_classes.tolist() != classes.tolist()
                    or tuple(old_maps.shape) != tuple(maps.shape)):
                raise ValueError(
                    f'{self.path(stem)} holds maps of classes {old_classes.tolist()} at '
                    f'{tuple(old_maps.shape[1:])}, but the image has classes '
                    f'{classes.tolist()} at {tuple(maps.shape[1:])}: remove the folder to '
                    'start the accumulation again')
            fused = torch.maximum(maps, torch.from_numpy(old_maps).to(maps))
        if update:
            values = fused.cpu().numpy().astype(np.float16)
            with atomic_path(self.path(stem), '.npz') as tmp:
                np.savez_compressed(tmp, maps=values, classes=classes.cpu().numpy())
        return fused
