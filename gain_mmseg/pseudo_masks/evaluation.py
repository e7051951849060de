"""Pseudo-mask quality against ground truth: mmseg's IoU, plus a background-threshold sweep."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from torch import Tensor

DEFAULT_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


class PseudoMaskEvaluator:
    """Accumulates per-class intersection and union over images, as mmseg's ``IoUMetric``.

    Scores the final masks (what stage 2 trains on) and, for every threshold of
    ``thresholds``, the masks a constant background score would give, so that the best
    background threshold can be read off. Images added as ``kept`` (their ground-truth mask
    written as their pseudo mask, see ``keep_pixel_masks`` of :class:`PseudoMaskGenerator`)
    count in the final masks' figures only: the attention's own figures (``mIoU_attention``
    and the sweep) are of the other images, whose masks the attention makes.

    Args:
        class_names: names of the classes, background included.
        thresholds: background thresholds of the sweep.
        ignore_index: ground-truth value that is not scored. Default 255.
        crf: the final masks are refined by the dense CRF and the sweep's are not (refining
            every threshold's masks would cost the CRF once per threshold): the report says
            so, since the sweep's best then compares with the final figure before the CRF.
            Default False.
        keep: the generator keeps the pixel-supervised images' ground truth as their masks:
            the report says how many and scores the others apart. Default False.
    """

    def __init__(self, class_names: Sequence[str],
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 ignore_index: int = 255, crf: bool = False, keep: bool = False) -> None:
        self.class_names = tuple(class_names)
        self.thresholds = tuple(thresholds)
        self.ignore_index = ignore_index
        self.crf = crf
        self.keep = keep
        self.num_images = 0
        self.num_kept = 0
        # Summed areas (intersect, union, pred, label) (2 + T, 4, C): the final masks of all
        # images, the final masks of the images not kept, then one row per threshold (images
        # not kept).
        self.areas = torch.zeros(2 + len(self.thresholds), 4, len(self.class_names),
                                 dtype=torch.float64)

    def areas_of(self, preds: Tensor, gt: Tensor) -> Tensor:
        """``IoUMetric.intersect_and_union`` of several predictions of one image at once.

        Args:
            preds: label maps (P, H, W); values outside the classes (255) count nowhere.
            gt: ground truth (H, W).

        Returns:
            Areas (P, 4, C) as float64: intersect, union, pred, label.
        """
        num = len(self.class_names)
        valid = gt != self.ignore_index
        # Out-of-range values go to an extra bin C, so they count in no class: IoUMetric's
        # histograms drop them the same way.
        label = gt[valid].long().clamp(0, num)
        pred = preds[:, valid].long().clamp(0, num)
        offset = torch.arange(len(preds), device=pred.device)[:, None] * (num + 1) ** 2
        confusion = torch.bincount((offset + label * (num + 1) + pred).flatten(),
                                   minlength=len(preds) * (num + 1) ** 2)
        confusion = confusion.view(len(preds), num + 1, num + 1).double()
        inter = confusion.diagonal(dim1=1, dim2=2)[:, :num]
        area_pred, area_label = confusion.sum(1)[:, :num], confusion.sum(2)[:, :num]
        return torch.stack([inter, area_pred + area_label - inter, area_pred, area_label], 1)

    def add(self, final: Tensor, gt: Tensor, sweep: Tensor, kept: bool = False) -> None:
        """Add one image: its final mask (H, W), ground truth (H, W) and sweep masks
        (T, H, W), one per threshold; ``kept``: its final mask is its ground truth (it then
        counts in the final masks' figures only)."""
        if len(sweep) != len(self.thresholds):
            raise ValueError(f'{len(sweep)} sweep masks for {len(self.thresholds)} thresholds')
        preds = torch.cat([final[None].to(sweep.device), sweep]).cpu()
        areas = self.areas_of(preds, gt.cpu())
        self.areas[0] += areas[0]
        if kept:
            self.num_kept += 1
        else:
            self.areas[1:] += areas
        self.num_images += 1

    @classmethod
    def total(cls, parts: Sequence['PseudoMaskEvaluator']) -> 'PseudoMaskEvaluator':
        """A new evaluator holding the images of all ``parts`` (e.g. the gathered evaluators
        of every rank, each image counted once)."""
        first = parts[0]
        whole = cls(first.class_names, first.thresholds, first.ignore_index, first.crf,
                    first.keep)
        for part in parts:
            whole.areas += part.areas
            whole.num_images += part.num_images
            whole.num_kept += part.num_kept
        return whole

    def _miou(self, areas: Tensor) -> Dict[str, np.ndarray]:
        metrics = IoUMetric.total_area_to_metrics(*areas, ['mIoU'])
        return {k: np.asarray(v) for k, v in metrics.items()}

    def results(self) -> dict:
        """mIoU (%) and per-class IoU (%) of the final masks, the sweep's mIoU per threshold,
        its best threshold, and ``crf``: whether the final masks (not the sweep's) are
        CRF-refined; ``num_kept`` images kept their ground truth, ``mIoU_attention`` is the
        final masks' mIoU over the other images (None if every image was kept). NaN IoU (a
        class absent from ground truth and prediction) is left out of the means, as in
        mmseg."""
        if not self.num_images:
            raise ValueError('no image was evaluated')
        final = self._miou(self.areas[0])
        labelled = self.num_images > self.num_kept
        sweep = {t: float(np.nanmean(self._miou(a)['IoU'])) * 100
                 for t, a in zip(self.thresholds, self.areas[2:])} if labelled else {}
        best = max(sweep, key=sweep.get) if sweep else None
        return {
            'num_images': self.num_images,
            'num_kept': self.num_kept,
            'mIoU': float(np.nanmean(final['IoU'])) * 100,
            'mIoU_attention': (float(np.nanmean(self._miou(self.areas[1])['IoU'])) * 100
                               if labelled else None),
            'aAcc': float(final['aAcc']) * 100,
            'per_class_IoU': {n: float(v) * 100 for n, v in zip(self.class_names, final['IoU'])},
            'sweep_mIoU': sweep,
            'best_threshold': best,
            'best_mIoU': sweep[best] if best is not None else None,
            'crf': self.crf,
            'keep': self.keep,
        }

    def format(self) -> str:
        """A plain-text report of :meth:`results`."""
        res = self.results()
        lines = [f"{'class':<16}{'IoU':>8}"]
        lines += [f'{n:<16}{v:8.2f}' for n, v in res['per_class_IoU'].items()]
        lines.append(f"pseudo-mask mIoU: {res['mIoU']:.2f} over {res['num_images']} images")
        if self.keep:
            lines.append(kept_note(res))
        if res['sweep_mIoU']:
            before = ' (masks before the CRF)' if self.crf else ''
            if res['num_kept']:
                before += f" (the {res['num_images'] - res['num_kept']} images not kept)"
            lines.append(f'background threshold sweep{before}: ' + ', '.join(
                f'{t:.2f}: {v:.1f}' for t, v in res['sweep_mIoU'].items()))
            lines.append(f"best threshold {res['best_threshold']:.2f}: "
                         f"mIoU {res['best_mIoU']:.2f}{before} (to adopt it: --cfg-options "
                         f"pseudo_mask.bg_threshold={res['best_threshold']:.2f} "
                         f"model.decode_head.bg_threshold={res['best_threshold']:.2f})")
        return '\n'.join(lines)


def kept_note(results: dict) -> str:
    """What an evaluation with ``keep_pixel_masks`` kept, in words: how many images kept
    their ground truth and the mIoU of the attention's masks of the others."""
    kept, total = results['num_kept'], results['num_images']
    if not kept:
        return ('0 images kept their ground-truth masks (keep_pixel_masks flags the images '
                "of a PixelSupervisionDataset, GAIN_ext's: this dataset has none)")
    attention = results['mIoU_attention']
    return (f'{kept} of {total} images kept their ground-truth masks (pixel-supervised); '
            f"the attention's masks of the other {total - kept}: mIoU "
            + ('–' if attention is None else f'{attention:.2f}'))
