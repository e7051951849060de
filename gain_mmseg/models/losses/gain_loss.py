"""The three losses of GAIN (Li et al., CVPR 2018, Eq. 5-8)."""
from typing import Dict, Optional

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class GAINLoss(nn.Module):
    """L_cl, L_am (Eq. 5) and L_e (Eq. 7), combined as in Eq. 6 and 8.

    ``L_self = L_cl + α L_am`` and ``L_ext = L_cl + α L_am + ω_e L_e``. α can start at zero
    and ramp up, so attention mining begins only once the classifier knows the classes.

    Args:
        loss_weight_cl: weight of L_cl. Default 1.0.
        loss_weight_am: α, weight of L_am. Default 1.0 (paper). 0 gives plain CAM training.
        loss_weight_e: ω_e, weight of L_e. Default 1.0: measured best on the demo data
            (docs/ablations.md); the paper's 10.0 measured worse there.
        am_score: what L_am averages for each (masked image, class): 'sigmoid' of the logit
            (default), the raw 'logit', or the 'softmax' probability over classes.
        am_warmup_iters: iterations with α = 0 before attention mining starts. Default 0.
        am_ramp_iters: iterations over which α then grows linearly to its value. Default 0.
        loss_name: prefix of the logged loss names. Default 'loss_gain'.
    """

    def __init__(self,
                 loss_weight_cl: float = 1.0,
                 loss_weight_am: float = 1.0,
                 loss_weight_e: float = 1.0,
                 am_score: str = 'sigmoid',
                 am_warmup_iters: int = 0,
                 am_ramp_iters: int = 0,
                 loss_name: str = 'loss_gain') -> None:
        super().__init__()
        if am_score not in ('sigmoid', 'logit', 'softmax'):
            raise ValueError(f"am_score must be 'sigmoid', 'logit' or 'softmax', got {am_score!r}")
        self.loss_weight_cl = loss_weight_cl
        self.loss_weight_am = loss_weight_am
        self.loss_weight_e = loss_weight_e
        self.am_score = am_score
        self.am_warmup_iters = am_warmup_iters
        self.am_ramp_iters = am_ramp_iters
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Prefix of the logged losses (mmseg requires it to start with ``loss_``)."""
        return self._loss_name

    def am_weight(self, cur_iter: int) -> float:
        """α at iteration ``cur_iter``: 0 during warm-up, then a linear ramp to α."""
        if cur_iter < self.am_warmup_iters:
            return 0.0
        if self.am_ramp_iters <= 0:
            return self.loss_weight_am
        progress = min(1.0, (cur_iter - self.am_warmup_iters + 1) / self.am_ramp_iters)
        return self.loss_weight_am * progress

    @staticmethod
    def loss_cl(scores: Tensor, labels: Tensor) -> Tensor:
        """L_cl: multi-label soft margin loss of scores (N, C) against multi-hot labels (N, C)."""
        return F.multilabel_soft_margin_loss(scores, labels.float())

    def loss_am(self, masked_scores: Tensor, cls_idx: Tensor) -> Tensor:
        """L_am (Eq. 5): mean score of each pair's class on its masked image.

        Args:
            masked_scores: scores of the masked images, (P, C).
            cls_idx: class each masked image was masked for, (P,).
        """
        if self.am_score == 'softmax':
            masked_scores = masked_scores.softmax(dim=1)
        picked = masked_scores.gather(1, cls_idx[:, None]).squeeze(1)
        if self.am_score == 'sigmoid':
            picked = picked.sigmoid()
        return picked.mean()

    @staticmethod
    def loss_e(attention: Tensor, target: Tensor, valid: Tensor) -> Tensor:
        """L_e (Eq. 7): mean squared error between attention and pixel masks.

        Args:
            attention: normalised attention A^c at input size, (Q, H, W).
            target: binary masks H^c, (Q, H, W).
            valid: pixels that carry a label (not ignore), bool (Q, H, W).
        """
        err = (attention - target.to(attention.dtype)).pow(2)
        return (err * valid).sum() / valid.sum().clamp(min=1)

    def forward(self, scores: Tensor, labels: Tensor, cur_iter: int = 0,
                masked_scores: Optional[Tensor] = None, masked_cls: Optional[Tensor] = None,
                attention: Optional[Tensor] = None, target: Optional[Tensor] = None,
                valid: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Weighted losses: ``loss_cl`` always, ``loss_am`` / ``loss_e`` when their inputs are
        given. Shapes as in :meth:`loss_cl`, :meth:`loss_am` and :meth:`loss_e`."""
        losses = {'loss_cl': self.loss_weight_cl * self.loss_cl(scores, labels)}
        if masked_scores is not None:
            losses['loss_am'] = self.am_weight(cur_iter) * self.loss_am(masked_scores, masked_cls)
        if attention is not None:
            losses['loss_e'] = self.loss_weight_e * self.loss_e(attention, target, valid)
        return losses
