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
    background threshold can be read off.

    Args:
        class_names: names of the classes, background included.
        thresholds: background thresholds of the sweep.
        ignore_index: ground-truth value that is not scored. Default 255.
        crf: the final masks are refined by the dense CRF and the sweep's are not (refining
            every threshold's masks would cost the CRF once per threshold): the report says
            so, since the sweep's best then compares with the final figure before the CRF.
            Default False.
    """

    def __init__(self, class_names: Sequence[str],
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 ignore_index: int = 255, crf: bool = False) -> None:
        self.class_names = tuple(class_names)
        self.thresholds = tuple(thresholds)
        self.ignore_index = ignore_index
        self.crf = crf
        self.num_images = 0
        # Summed areas (intersect, union, pred, label) (1 + T, 4, C): the final masks, then
        # one row per threshold.
        self.areas = torch.zeros(1 + len(self.thresholds), 4, len(self.class_names),
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

    def add(self, final: Tensor, gt: Tensor, sweep: Tensor) -> None:
        """Add one image: its final mask (H, W), ground truth (H, W) and sweep masks
        (T, H, W), one per threshold."""
        if len(sweep) != len(self.thresholds):
            raise ValueError(f'{len(sweep)} sweep masks for {len(self.thresholds)} thresholds')
        preds = torch.cat([final[None].to(sweep.device), sweep]).cpu()
        self.areas += self.areas_of(preds, gt.cpu())
        self.num_images += 1

    @classmethod
    def total(cls, parts: Sequence['PseudoMaskEvaluator']) -> 'PseudoMaskEvaluator':
        """A new evaluator holding the images of all ``parts`` (e.g. the gathered evaluators
        of every rank, each image counted once)."""
        first = parts[0]
        whole = cls(first.class_names, first.thresholds, first.ignore_index, first.crf)
        for part in parts:
            whole.areas += part.areas
            whole.num_images += part.num_images
        return whole

    def _miou(self, areas: Tensor) -> Dict[str, np.ndarray]:
        metrics = IoUMetric.total_area_to_metrics(*areas, ['mIoU'])
        return {k: np.asarray(v) for k, v in metrics.items()}

    def results(self) -> dict:
        """mIoU (%) and per-class IoU (%) of the final masks, the sweep's mIoU per threshold,
        its best threshold, and ``crf``: whether the final masks (not the sweep's) are
        CRF-refined. NaN IoU (a class absent from ground truth and prediction) is
        left out of the means, as in mmseg."""
        if not self.num_images:
            raise ValueError('no image was evaluated')
        final = self._miou(self.areas[0])
        sweep = {t: float(np.nanmean(self._miou(a)['IoU'])) * 100
                 for t, a in zip(self.thresholds, self.areas[1:])}
        best = max(sweep, key=sweep.get) if sweep else None
        return {
            'num_images': self.num_images,
            'mIoU': float(np.nanmean(final['IoU'])) * 100,
            'aAcc': float(final['aAcc']) * 100,
            'per_class_IoU': {n: float(v) * 100 for n, v in zip(self.class_names, final['IoU'])},
            'sweep_mIoU': sweep,
            'best_threshold': best,
            'best_mIoU': sweep[best] if best is not None else None,
            'crf': self.crf,
        }

    def format(self) -> str:
        """A plain-text report of :meth:`results`."""
        res = self.results()
        lines = [f"{'class':<16}{'IoU':>8}"]
        lines += [f'{n:<16}{v:8.2f}' for n, v in res['per_class_IoU'].items()]
        lines.append(f"pseudo-mask mIoU: {res['mIoU']:.2f} over {res['num_images']} images")
        if res['sweep_mIoU']:
            before = ' (masks before the CRF)' if self.crf else ''
            lines.append(f'background threshold sweep{before}: ' + ', '.join(
                f'{t:.2f}: {v:.1f}' for t, v in res['sweep_mIoU'].items()))
            lines.append(f"best threshold {res['best_threshold']:.2f}: "
                         f"mIoU {res['best_mIoU']:.2f}{before} (to adopt it: --cfg-options "
                         f"pseudo_mask.bg_threshold={res['best_threshold']:.2f} "
                         f"model.decode_head.bg_threshold={res['best_threshold']:.2f})")
        return '\n'.join(lines)
