"""Atomic, resumable output of pseudo masks: palette PNGs (and optional raw maps, .npz)."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from gain_mmseg.fileio import TMP_MARK, atomic_path


class PseudoMaskWriter:
    """Writes ``<out_dir>/<stem>.png`` (VOC-style palette PNG, pixel = class index, 255 =
    ignore) and, with ``save_maps``, ``<out_dir>/maps/<stem>.npz`` (normalised attention maps
    (K, H, W) float16 and their class indices (K,)).

    Every file is written under a temporary name in the same folder and renamed into place,
    so a killed run leaves no truncated file; temporary leftovers of such a run are removed
    when the next writer opens the folder. A mask on disk counts as done unless
    ``overwrite``.

    Args:
        out_dir: output folder, created if missing.
        palette: RGB colour of each class, [[r, g, b], ...].
        overwrite: rewrite masks that exist. Default False.
        save_maps: also save the raw maps. Default False.
        clean_leftovers: remove a killed run's temporary files on opening. Default True;
            under distributed generation only rank 0 does (another rank's temporary file may
            be one it is writing).
    """

    def __init__(self, out_dir: str, palette: Sequence[Sequence[int]], overwrite: bool = False,
                 save_maps: bool = False, clean_leftovers: bool = True) -> None:
        self.out_dir = out_dir
        self.overwrite = overwrite
        self.save_maps = save_maps
        flat = [v for colour in palette for v in colour][:768]
        flat += [0] * (768 - len(flat))
        flat[255 * 3:256 * 3] = [224, 224, 192]  # VOC's colour of ignored pixels
        self.palette = flat
        os.makedirs(osp.join(out_dir, 'maps') if save_maps else out_dir, exist_ok=True)
        if clean_leftovers:
            self._remove_leftovers()

    def path(self, stem: str) -> str:
        """Path of the mask of image ``stem``."""
        return osp.join(self.out_dir, f'{stem}.png')

    def done(self, stem: str) -> bool:
        """Whether the mask of ``stem`` exists and is not to be rewritten."""
        return not self.overwrite and osp.exists(self.path(stem))

    def read(self, stem: str) -> np.ndarray:
        """The mask of ``stem``, uint8 (H, W)."""
        return np.array(Image.open(self.path(stem)))

    def write(self, stem: str, mask: np.ndarray, maps: Optional[np.ndarray] = None,
              classes: Optional[np.ndarray] = None) -> None:
        """Write the mask, uint8 (H, W), and with ``save_maps`` its maps (K, H, W), classes (K,)."""
        if self.save_maps and maps is not None:
            self._atomic(osp.join(self.out_dir, 'maps', f'{stem}.npz'),
                         lambda f: np.savez_compressed(f, maps=maps.astype(np.float16),
                                                       classes=classes))
        image = Image.fromarray(mask.astype(np.uint8), mode='P')
        image.putpalette(self.palette)
        self._atomic(self.path(stem), lambda f: image.save(f, format='PNG'))

    @staticmethod
    def _atomic(path: str, save) -> None:
        with atomic_path(path) as tmp, open(tmp, 'wb') as f:
            save(f)

    def _remove_leftovers(self) -> None:
        for folder in (self.out_dir, osp.join(self.out_dir, 'maps')):
            if osp.isdir(folder):
                for name in os.listdir(folder):
                    if name.startswith('.') and TMP_MARK in name:
                        os.remove(osp.join(folder, name))
