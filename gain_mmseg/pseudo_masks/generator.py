"""Attention maps → pseudo segmentation masks: multi-scale + flip fusion, background, argmax."""
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from gain_mmseg.models.attention import normalize_attention
from gain_mmseg.pseudo_masks.accumulation import AttentionAccumulator
from gain_mmseg.pseudo_masks.crf import crf_refine
from gain_mmseg.pseudo_masks.evaluation import PseudoMaskEvaluator
from gain_mmseg.pseudo_masks.writer import PseudoMaskWriter
from gain_mmseg.structures.image_labels import batch_image_labels


class PseudoMaskGenerator:
    """Turns a stage-1 GAIN model's attention into pseudo masks for stage 2.

    For each image and each of its ground-truth image-level classes: the unnormalised
    attention (the same function as in training) at every scale, with and without horizontal
    flip, upsampled to the image and summed, then divided by its maximum. Background scores
    ``bg_threshold`` (or ``(1 − max_c A^c) ** bg_power``); the label is the argmax over
    background and the image's classes.

    Args:
        model: a :class:`GAINEncoderDecoder` (any segmentor whose decode head is an
            :class:`AttentionMiningHead`).
        scales: input scales. Default (0.5, 1.0, 1.5, 2.0).
        flip: add horizontally flipped inputs. Default True.
        bg_threshold: constant background score. Default 0.15 (IRN).
        bg_power: if set, background is ``(1 − max_c A^c) ** bg_power`` instead.
        ignore_band: (low, high) background thresholds; pixels labelled differently with the
            two are uncertain and set to the head's ``ignore_index`` (255 in mmseg: ignored by
            stage 2's loss). Default None.
        crf: refine with a dense CRF (needs ``pydensecrf2``). Default False.
        ref_size: what the scales are relative to: None, the image as stored (default); an
            int, an image resized so that its long side is ``ref_size`` pixels — set it to the
            training scale, so that scale 1.0 means "as seen in training" whatever size the
            photographs are stored at. Maps are always returned at the stored size.
        keep_pixel_masks: an image flagged ``pixel_supervised`` (GAIN_ext's
            :class:`PixelSupervisionDataset`) keeps its ground-truth mask as its pseudo mask,
            so that stage 2 trains on the pixel labels the user has; the evaluation scores
            the attention's masks of the other images apart. Default False: every mask is
            the attention's.

    These keyword arguments are the settings of the config's ``pseudo_mask`` dict and their
    defaults its defaults (:data:`PSEUDO_MASK_DEFAULTS` reads them from this signature).
    """

    def __init__(self, model: torch.nn.Module, scales: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                 flip: bool = True, bg_threshold: float = 0.15, bg_power: Optional[float] = None,
                 ignore_band: Optional[Tuple[float, float]] = None, crf: bool = False,
                 ref_size: Optional[int] = None, keep_pixel_masks: bool = False) -> None:
        if ignore_band is not None and (bg_power is not None or crf):
            raise ValueError('ignore_band applies to the constant background threshold '
                             'without CRF only')
        self.model = model
        self.head = model.decode_head
        self.scales = tuple(scales)
        self.flip = flip
        self.bg_threshold = bg_threshold
        self.bg_power = bg_power
        self.ignore_band = ignore_band
        self.crf = crf
        if ref_size is not None and ref_size < 1:
            raise ValueError(f'ref_size is a long side in pixels, got {ref_size}')
        self.ref_size = ref_size
        self.keep_pixel_masks = keep_pixel_masks
        # Maps accumulated over training (OAA) to max-fuse with this model's: a run-time
        # input (a folder of the stage-1 run), not a setting of the config's pseudo_mask.
        self.accumulator: Optional[AttentionAccumulator] = None

    @torch.no_grad()
    def fused_attention(self, images: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Multi-scale + flip attention of same-sized images.

        Args:
            images: normalised images, (G, 3, H, W).
            labels: foreground image labels, bool (G, C_fg).

        Returns:
            ``img_idx`` (P,), ``cls_idx`` (P,) and normalised maps (P, H, W) in [0, 1].
        """
        size = images.shape[-2:]
        img_idx, cls_idx = labels.nonzero(as_tuple=True)
        total = images.new_zeros((img_idx.numel(), ) + size)
        for scale in self.scales:
            shape = self.scaled_size(size, scale)
            scaled = images if shape == tuple(size) else F.interpolate(
                images, size=shape, mode='bilinear', align_corners=False)
            batch = torch.cat([scaled, scaled.flip(-1)]) if self.flip else scaled
            both = torch.cat([labels, labels]) if self.flip else labels
            _, _, maps = self.head.attention_maps(self.model.extract_feat(batch), both)
            maps = F.interpolate(maps[:, None], size=size, mode='bilinear',
                                 align_corners=self.model.align_corners)[:, 0]
            if self.flip:
                total += maps[:len(img_idx)] + maps[len(img_idx):].flip(-1)
            else:
                total += maps
        return img_idx, cls_idx, normalize_attention(total)

    def scaled_size(self, size: Sequence[int], scale: float) -> Tuple[int, int]:
        """(h, w) the model sees an image of stored ``size`` (h, w) at ``scale``: relative to
        the stored size, or to a long side of ``ref_size`` when set."""
        base = self.ref_size / max(size) if self.ref_size else 1.0
        return tuple(max(1, round(n * base * scale)) for n in size)

    def scores(self, maps: Tensor, classes: Tensor, threshold: Optional[float] = None
               ) -> Tuple[Tensor, Tensor]:
        """Background and class scores of one image.

        Args:
            maps: normalised attention of the image's classes, (K, H, W).
            classes: their dataset class indices, (K,).
            threshold: force a constant background score (the threshold sweep); by default
                the generator's background setting applies.

        Returns:
            ``keys`` (K + 1,), the dataset class of each score channel (background first),
            and ``scores`` (K + 1, H, W).
        """
        if threshold is None and self.bg_power is not None:
            peak = maps.max(0).values if len(maps) else maps.new_zeros(maps.shape[-2:])
            bg_score = (1 - peak).pow(self.bg_power)
        else:
            threshold = self.bg_threshold if threshold is None else threshold
            bg_score = maps.new_full(maps.shape[-2:], threshold)
        keys = torch.cat([classes.new_tensor([self.head.background_index]), classes])
        return keys, torch.cat([bg_score[None], maps])

    def label(self, maps: Tensor, classes: Tensor, threshold: Optional[float] = None) -> Tensor:
        """Pseudo label (H, W), long: argmax of :meth:`scores` (same arguments)."""
        if threshold is None and self.bg_power is not None:
            keys, scores = self.scores(maps, classes)
            return keys[scores.argmax(0)]
        return self.sweep_labels(maps, classes, (
            self.bg_threshold if threshold is None else threshold, ))[0]

    def sweep_labels(self, maps: Tensor, classes: Tensor, thresholds: Sequence[float]
                     ) -> Tensor:
        """:meth:`label` with a constant background score, for many thresholds at once.

        Args:
            maps: normalised attention of the image's classes, (K, H, W).
            classes: their dataset class indices, (K,).
            thresholds: background scores, T of them.

        Returns:
            Labels (T, H, W), long: the argmax over background and classes, ties to the
            earlier channel (background first), computed from one max over the classes.
        """
        bg = self.head.background_index
        size = (len(thresholds), ) + tuple(maps.shape[-2:])
        if len(maps) == 0:
            return torch.full(size, bg, dtype=torch.long, device=maps.device)
        peak, arg = maps.max(0)
        # Same dtype as the maps, so the comparison rounds as the argmax's would.
        thr = maps.new_tensor(thresholds)[:, None, None]
        return torch.where(peak[None] > thr, classes.long()[arg][None],
                           torch.full(size, bg, dtype=torch.long, device=maps.device))

    def mask(self, maps: Tensor, classes: Tensor, image: Optional[np.ndarray] = None) -> Tensor:
        """Final pseudo mask (H, W): argmax, optional CRF, optional ignore band (the head's
        ``ignore_index``).

        ``image`` (H, W, 3) uint8 RGB is needed for the CRF only.
        """
        if self.crf:
            keys, scores = self.scores(maps, classes)
            refined = crf_refine(image, scores.argmax(0).cpu().numpy(), len(keys))
            return keys[torch.from_numpy(refined).to(keys.device)]
        if self.ignore_band is None:
            return self.label(maps, classes)
        low, high = self.ignore_band
        sure_fg, sure_bg = self.label(maps, classes, low), self.label(maps, classes, high)
        unsure = torch.full_like(sure_fg, self.head.ignore_index)
        return torch.where(sure_fg == sure_bg, sure_fg, unsure)

    def run(self, dataset, writer: PseudoMaskWriter, indices: Optional[Iterable[int]] = None,
            batch_size: int = 8, evaluator: Optional[PseudoMaskEvaluator] = None,
            progress: bool = True, num_workers: int = 0) -> Dict[str, int]:
        """Write the pseudo mask of every image of ``dataset`` (or of ``indices``).

        Images are read by a ``DataLoader`` with ``num_workers`` worker processes, in order.
        With :attr:`keep_pixel_masks`, the images flagged ``pixel_supervised`` are written
        with their ground truth. Images whose mask is already on disk are skipped
        (resumable) unless the writer overwrites — not even read, unless an ``evaluator``
        needs their maps to score them.
        With an :attr:`accumulator` set, each image's maps are first max-fused with the maps
        accumulated over training (OAA).

        Returns:
            Counts: ``written`` and ``skipped`` images.
        """
        indices = list(range(len(dataset)) if indices is None else indices)
        counts = {'written': 0, 'skipped': 0}
        if evaluator is None:
            todo = [i for i in indices if not writer.done(_info_stem(dataset, i))]
            counts['skipped'] = len(indices) - len(todo)
            indices = todo
        for group in self._groups(dataset, indices, batch_size, num_workers, progress):
            self._process(group, writer, evaluator, counts)
        return counts

    def accumulate(self, dataset, accumulator: AttentionAccumulator,
                   indices: Optional[Iterable[int]] = None, batch_size: int = 8,
                   num_workers: int = 0) -> int:
        """Max-fuse the current model's attention of every image of ``dataset`` (or of
        ``indices``) into ``accumulator`` (one OAA step); returns the number of images."""
        indices = list(range(len(dataset)) if indices is None else indices)
        for group in self._groups(dataset, indices, batch_size, num_workers, False):
            for item, (_, classes, maps) in zip(group, self.image_attention(group)):
                accumulator.fuse(_stem(item), classes, maps, update=True)
        return len(indices)

    def _groups(self, dataset, indices: List[int], batch_size: int, num_workers: int,
                progress: bool) -> Iterator[List[dict]]:
        """The pipeline outputs of ``indices``, in order, as groups of equal image size, the
        model in eval mode."""
        # collate_fn=list: items stay as the pipeline made them; the model's data
        # preprocessor batches each group of equal size (no padding).
        loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, shuffle=False,
                            num_workers=num_workers, collate_fn=list)
        bar = ProgressBar(len(indices)) if progress else None
        self.model.eval()
        for items in loader:
            yield from _same_size_groups(items)
            if bar is not None:
                for _ in items:
                    bar.update()
        if bar is not None:
            print()

    def image_attention(self, items: List[dict]) -> List[Tuple[object, Tensor, Tensor]]:
        """Fused attention of a group of same-size pipeline outputs (``dataset[i]``), each
        image's ground-truth classes only.

        Returns:
            Per image: its ``SegDataSample``, the dataset class index of each map (K,) and the
            maps (K, H, W) in [0, 1] at the stored image size.
        """
        data = self.model.data_preprocessor(pseudo_collate(items), False)
        samples = data['data_samples']
        labels = batch_image_labels(samples, self.head.num_classes, self.head.ignore_index)
        fg = labels[:, self.head.fg_index].to(data['inputs'].device)
        img_idx, cls_idx, maps = self.fused_attention(data['inputs'], fg)
        fg_index = torch.as_tensor(self.head.fg_index, device=maps.device)
        return [(sample, fg_index[cls_idx[img_idx == i]], maps[img_idx == i])
                for i, sample in enumerate(samples)]

    def _process(self, items: List[dict], writer: PseudoMaskWriter,
                 evaluator: Optional[PseudoMaskEvaluator], counts: Dict[str, int]) -> None:
        for item, (sample, classes, maps) in zip(items, self.image_attention(items)):
            stem = _stem(item)
            if self.accumulator is not None:
                maps = self.accumulator.fuse(stem, classes, maps)
            kept = self.keep_pixel_masks and bool(sample.metainfo.get('pixel_supervised'))
            if writer.done(stem):
                final = torch.from_numpy(writer.read(stem))
                counts['skipped'] += 1
            else:
                final = (sample.gt_sem_seg.data[0].cpu().long() if kept else self.mask(
                    maps, classes, rgb_image(item) if self.crf else None).cpu())
                writer.write(stem, final.numpy().astype(np.uint8), maps.cpu().numpy(),
                             classes.cpu().numpy())
                counts['written'] += 1
            if evaluator is not None:
                sweep = self.sweep_labels(maps, classes, evaluator.thresholds)
                evaluator.add(final, sample.gt_sem_seg.data[0], sweep, kept=kept)


def rgb_image(item: dict) -> np.ndarray:
    """The image of a pipeline output (``inputs``: (3, H, W) in mmcv's BGR order) as RGB
    uint8 (H, W, 3)."""
    return item['inputs'].permute(1, 2, 0).flip(-1).numpy().copy()


def _stem(item: dict) -> str:
    return osp.splitext(osp.basename(item['data_samples'].metainfo['img_path']))[0]


def _info_stem(dataset, index: int) -> str:
    """The file stem of image ``index``, from the dataset's annotations (no image read)."""
    return osp.splitext(osp.basename(dataset.get_data_info(index)['img_path']))[0]


def _same_size_groups(items: List[dict]) -> List[List[dict]]:
    """Split items into runs of equal image size, so each run is one batch without padding."""
    groups: Dict[tuple, List[dict]] = {}
    for item in items:
        groups.setdefault(tuple(item['inputs'].shape), []).append(item)
    return list(groups.values())
