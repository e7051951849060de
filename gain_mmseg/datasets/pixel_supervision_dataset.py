"""GAIN_ext's training set: image-level labels for all images, pixel masks for a few."""
import os.path as osp
from typing import Any, List, Optional, Set, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class PixelSupervisionDataset:
    """Wraps a segmentation dataset and flags which of its images are pixel-supervised.

    The flag reaches the model as ``data_sample.metainfo['pixel_supervised']``; the segmentor
    applies L_e (Eq. 7) to flagged samples only and uses every other sample's mask solely for
    its set of classes. The flag follows the image (by file stem), not the index, so it stays
    right when the wrapped dataset re-fetches another index.

    Args:
        dataset: config (or instance) of the wrapped dataset, e.g. ``PascalVOCDataset``.
        pixel_list: text file of image stems (one per line) that may keep their pixel masks,
            e.g. VOC12's ``ImageSets/Segmentation/train.txt`` (1,464 images). Default None:
            every image may.
        num_pixel: draw this many of those images at random (e.g. the paper's 200); 0 keeps
            them all. Default 0.
        seed: seed of that draw. Default 0.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], pixel_list: Optional[str] = None,
                 num_pixel: int = 0, seed: int = 0) -> None:
        if pixel_list is None and not num_pixel:
            raise ValueError('give pixel_list, num_pixel or both')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.pixel_list = pixel_list
        self.num_pixel = num_pixel
        self.seed = seed
        self._pixel_stems: Optional[Set[str]] = None

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo (classes, palette)."""
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Load the wrapped dataset and decide the pixel-supervised images."""
        if self._pixel_stems is not None:
            return
        self.dataset.full_init()
        stems = [_stem(self.dataset.get_data_info(i)['img_path']) for i in range(len(self))]
        candidates = sorted(self._read_list(stems) if self.pixel_list else set(stems))
        if self.num_pixel:
            if self.num_pixel > len(candidates):
                raise ValueError(f'num_pixel={self.num_pixel} exceeds the {len(candidates)} '
                                 'candidate images')
            rng = np.random.default_rng(self.seed)
            chosen = rng.choice(len(candidates), size=self.num_pixel, replace=False)
            candidates = [candidates[i] for i in sorted(chosen)]
        self._pixel_stems = set(candidates)

    @property
    def pixel_stems(self) -> Set[str]:
        """Stems of the pixel-supervised images."""
        self.full_init()
        return self._pixel_stems

    def _read_list(self, stems: List[str]) -> Set[str]:
        path = self.pixel_list
        if not osp.isfile(path):
            raise FileNotFoundError(f'pixel_list {path!r} does not exist')
        with open(path, encoding='utf-8') as f:
            listed = {line.strip() for line in f if line.strip()}
        unknown = listed - set(stems)
        if unknown:
            raise ValueError(f'pixel_list {path!r} names {len(unknown)} images that are not in '
                             f'the dataset, e.g. {sorted(unknown)[:3]}')
        return listed

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's data info, plus ``pixel_supervised``."""
        info = self.dataset.get_data_info(idx)
        info['pixel_supervised'] = _stem(info['img_path']) in self.pixel_stems
        return info

    def __getitem__(self, idx: int) -> Any:
        item = self.dataset[idx]
        sample = item['data_samples']
        stem = _stem(sample.metainfo['img_path'])
        sample.set_metainfo({'pixel_supervised': stem in self.pixel_stems})
        return item


def pixel_supervised_stems(dataset) -> Set[str]:
    """The pixel-labelled stems of every :class:`PixelSupervisionDataset` in ``dataset``,
    inside ``ConcatDataset`` and other wrappers too; empty if there is none."""
    stems = set(dataset.pixel_stems) if isinstance(dataset, PixelSupervisionDataset) else set()
    for inner in [*getattr(dataset, 'datasets', []), getattr(dataset, 'dataset', None)]:
        if inner is not None:
            stems |= pixel_supervised_stems(inner)
    return stems


def _stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]
