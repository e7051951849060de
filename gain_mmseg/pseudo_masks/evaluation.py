"""Pseudo-mask quality against ground truth: mmseg's IoU, plus a background-threshold sweep."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from torch import Tensor

DEFAULT_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))


class PseudoMaskEvaluator:
    """Accumulates per-class intersection and union over images (mmseg's ``IoUMetric``).

    Scores the final masks (what stage 2 trains on) and, for every threshold of
    ``thresholds``, the masks a constant background score would give, so that the best
    background threshold can be read off.

    Args:
        class_names: names of the classes, background included.
        thresholds: background thresholds of the sweep.
        ignore_index: ground-truth value that is not scored. Default 255.
    """

    def __init__(self, class_names: Sequence[str],
                 thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                 ignore_index: int = 255) -> None:
        self.class_names = tuple(class_names)
        self.thresholds = tuple(thresholds)
        self.ignore_index = ignore_index
        self.final = []
        self.sweep = {t: [] for t in self.thresholds}

    def _areas(self, pred: Tensor, gt: Tensor) -> tuple:
        # Masks may carry 255 (ignore band): IoUMetric counts only predictions < num_classes.
        return IoUMetric.intersect_and_union(pred.long(), gt.long(), len(self.class_names),
                                             self.ignore_index)

    def add(self, final: Tensor, gt: Tensor, sweep: Dict[float, Tensor]) -> None:
        """Add one image: its final mask, ground truth and sweep masks, each (H, W)."""
        gt = gt.cpu()
        self.final.append(self._areas(final.cpu(), gt))
        for t, pred in sweep.items():
            self.sweep[t].append(self._areas(pred.cpu(), gt))

    def _miou(self, results: list) -> Dict[str, np.ndarray]:
        totals = [torch.stack([r[i] for r in results]).sum(0) for i in range(4)]
        metrics = IoUMetric.total_area_to_metrics(*totals, ['mIoU'])
        return {k: np.asarray(v) for k, v in metrics.items()}

    def results(self) -> dict:
        """mIoU (%) and per-class IoU (%) of the final masks, the sweep's mIoU per threshold,
        and its best threshold. NaN IoU (a class absent from ground truth and prediction) is
        left out of the means, as in mmseg."""
        if not self.final:
            raise ValueError('no image was evaluated')
        final = self._miou(self.final)
        sweep = {t: float(np.nanmean(self._miou(r)['IoU'])) * 100 for t, r in self.sweep.items()}
        best = max(sweep, key=sweep.get) if sweep else None
        return {
            'num_images': len(self.final),
            'mIoU': float(np.nanmean(final['IoU'])) * 100,
            'aAcc': float(final['aAcc']) * 100,
            'per_class_IoU': {n: float(v) * 100 for n, v in zip(self.class_names, final['IoU'])},
            'sweep_mIoU': sweep,
            'best_threshold': best,
            'best_mIoU': sweep[best] if best is not None else None,
        }

    def format(self) -> str:
        """A plain-text report of :meth:`results`."""
        res = self.results()
        lines = [f"{'class':<16}{'IoU':>8}"]
        lines += [f'{n:<16}{v:8.2f}' for n, v in res['per_class_IoU'].items()]
        lines.append(f"pseudo-mask mIoU: {res['mIoU']:.2f} over {res['num_images']} images")
        if res['sweep_mIoU']:
            lines.append('background threshold sweep: ' + ', '.join(
                f'{t:.2f}: {v:.1f}' for t, v in res['sweep_mIoU'].items()))
            lines.append(f"best threshold {res['best_threshold']:.2f}: "
                         f"mIoU {res['best_mIoU']:.2f}")
        return '\n'.join(lines)
