"""The three losses of GAIN (Li et al., CVPR 2018, Eq. 5-8)."""
from typing import Dict, Optional, Tuple

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
            (default), the raw 'logit', or the 'softmax' probability over classes; 'none'
            leaves the score out, so that L_am is the area prior alone (a control: maps made
            compact without erasing having to lower the class score).
        am_area_weight: λ of an area prior added to L_am, ``λ · mean T(A)`` (or
            ``λ · mean log T(A)``, see ``am_area_prior``): attention
            mining may then widen the attention only where erasing lowers the class score by
            more than the area it costs (the mask-size term of meaningful-perturbation
            saliency, against attention spreading over the object's context). 0 = the paper.
            Default 0.
        am_area_prior: how the prior weighs each pair's area a = mean T(A): 'linear',
            ``λ · mean_p a_p`` (every pixel costs the same, so a large object's map is pushed
            to shrink as hard as a small one's), or 'log', ``λ · mean_p log a_p`` (a map
            pays for its growth relative to its own area: ∂/∂a_p = λ / (P a_p), so large
            maps are pushed less per pixel), or 'gated', ``λ · mean_p w_p a_p`` with
            ``w_p = (1 − s_p) / mean_q (1 − s_q)``, s_p the sigmoid score of pair p's class on
            its masked image, detached: the deletion game of meaningful perturbation (the
            smallest region whose erasing removes the class) as a Lagrangian, whose area term
            acts where erasing already succeeded, so that a map that has not yet covered its
            object (the class still scores on the masked image) is pushed less than the
            batch's other maps and may grow. The weights are relative to the pairs of the
            batch and average 1, so λ keeps the linear prior's scale; with a single pair, or
            pairs that all score alike, it is the linear prior. Default 'linear'.
        am_warmup_iters: iterations with α = 0 before attention mining starts. Default 0.
        am_ramp_iters: iterations over which α then grows linearly to its value. Default 0.
        am_warmup_ratio: the warm-up as a fraction of the schedule (``max_iters``), instead of
            ``am_warmup_iters``; it follows a shortened or lengthened schedule. Default None.
        am_ramp_ratio: the ramp as a fraction of the schedule, instead of ``am_ramp_iters``.
            Default None.
        loss_name: prefix of the logged loss names. Default 'loss_gain'.
    """

    def __init__(self,
                 loss_weight_cl: float = 1.0,
                 loss_weight_am: float = 1.0,
                 loss_weight_e: float = 1.0,
                 am_score: str = 'sigmoid',
                 am_area_weight: float = 0.0,
                 am_area_prior: str = 'linear',
                 am_warmup_iters: int = 0,
                 am_ramp_iters: int = 0,
                 am_warmup_ratio: Optional[float] = None,
                 am_ramp_ratio: Optional[float] = None,
                 loss_name: str = 'loss_gain') -> None:
        super().__init__()
        if am_score not in ('sigmoid', 'logit', 'softmax', 'none'):
            raise ValueError(f"am_score must be 'sigmoid', 'logit', 'softmax' or 'none', got "
                             f'{am_score!r}')
        if am_score == 'none' and not am_area_weight:
            raise ValueError("am_score='none' leaves L_am the area prior alone: set "
                             'am_area_weight > 0')
        self.loss_weight_cl = loss_weight_cl
        self.loss_weight_am = loss_weight_am
        self.loss_weight_e = loss_weight_e
        if am_area_weight < 0:
            raise ValueError(f'am_area_weight must be >= 0, got {am_area_weight}')
        if am_area_prior not in ('linear', 'log', 'gated'):
            raise ValueError("am_area_prior must be 'linear', 'log' or 'gated', got "
                             f'{am_area_prior!r}')
        self.am_score = am_score
        self.am_area_weight = am_area_weight
        self.am_area_prior = am_area_prior
        for name, ratio, iters in (('warmup', am_warmup_ratio, am_warmup_iters),
                                   ('ramp', am_ramp_ratio, am_ramp_iters)):
            if ratio is not None and iters:
                raise ValueError(f'set am_{name}_ratio or am_{name}_iters, not both')
            if ratio is not None and not 0 <= ratio < 1:
                raise ValueError(f'am_{name}_ratio is a fraction of the schedule in [0, 1), '
                                 f'got {ratio}')
        self.am_warmup_iters = am_warmup_iters
        self.am_ramp_iters = am_ramp_iters
        self.am_warmup_ratio = am_warmup_ratio
        self.am_ramp_ratio = am_ramp_ratio
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Prefix of the logged losses (mmseg requires it to start with ``loss_``)."""
        return self._loss_name

    @property
    def scheduled(self) -> bool:
        """Whether α depends on the iteration (a warm-up or a ramp is set)."""
        return bool(self.loss_weight_am and (
            self.am_warmup_iters or self.am_ramp_iters or self.am_warmup_ratio
            or self.am_ramp_ratio))

    def schedule(self, max_iters: Optional[int] = None) -> Tuple[int, int]:
        """(warm-up, ramp) in iterations, for a schedule of ``max_iters`` iterations.

        Raises a ValueError when a ratio is set without ``max_iters``, or when the warm-up
        leaves no attention-mining iteration in the schedule."""
        ratios = (self.am_warmup_ratio, self.am_ramp_ratio)
        if max_iters is None and any(r is not None for r in ratios):
            raise ValueError('am_warmup_ratio / am_ramp_ratio need the schedule length: '
                             'train through a runner with GAINScheduleHook')
        warmup, ramp = (int(round(r * max_iters)) if r is not None else n
                        for r, n in zip(ratios, (self.am_warmup_iters, self.am_ramp_iters)))
        if max_iters is not None and self.loss_weight_am and warmup >= max_iters:
            raise ValueError(f'a warm-up of {warmup} iterations leaves no attention mining in '
                             f'a schedule of {max_iters}: lower am_warmup_iters or use '
                             'am_warmup_ratio')
        return warmup, ramp

    def am_weight(self, cur_iter: int, max_iters: Optional[int] = None) -> float:
        """α at iteration ``cur_iter`` (0-based) of ``max_iters``: 0 during warm-up, then a
        linear ramp to α."""
        warmup, ramp = self.schedule(max_iters)
        if cur_iter < warmup:
            return 0.0
        if ramp <= 0:
            return self.loss_weight_am
        progress = min(1.0, (cur_iter - warmup + 1) / ramp)
        return self.loss_weight_am * progress

    @staticmethod
    def loss_cl(scores: Tensor, labels: Tensor) -> Tensor:
        """L_cl: multi-label soft margin loss of scores (N, C) against multi-hot labels (N, C)."""
        return F.multilabel_soft_margin_loss(scores, labels.float())

    def loss_am(self, masked_scores: Tensor, cls_idx: Tensor,
                masked_area: Optional[Tensor] = None) -> Tensor:
        """L_am (Eq. 5): mean score of each pair's class on its masked image, plus the area
        prior (``am_area_weight`` λ times the mean over pairs of a_p = mean T(A), of
        log a_p, or of w_p a_p, see ``am_area_prior``) when the areas are given.

        Args:
            masked_scores: scores of the masked images, (P, C).
            cls_idx: class each masked image was masked for, (P,).
            masked_area: mean of each pair's soft mask T(A), (P,).
        """
        loss = (self.masked_score(masked_scores, cls_idx) if self.am_score != 'none'
                else masked_scores.new_zeros(()))
        if masked_area is not None and self.am_area_weight:
            # A map all below am_bg_zone has zero area: the floor keeps log finite there.
            area = (masked_area.clamp_min(1e-6).log() if self.am_area_prior == 'log'
                    else masked_area)
            if self.am_area_prior == 'gated':
                area = area * self.area_gate(masked_scores, cls_idx)
            loss = loss + self.am_area_weight * area.mean()
        return loss

    @staticmethod
    def area_gate(masked_scores: Tensor, cls_idx: Tensor) -> Tensor:
        """Weights w_p = (1 − s_p) / mean_q (1 − s_q) of the 'gated' area prior over the P
        pairs of the batch, detached: s_p the sigmoid score of pair p's class on its masked
        image. masked_scores (P, C), cls_idx (P,); returns (P,), mean 1 (all zero when every
        masked image still scores its class at 1)."""
        missed = 1 - masked_scores.detach().gather(1, cls_idx[:, None]).squeeze(1).sigmoid()
        return missed / missed.mean().clamp_min(1e-6)

    def masked_score(self, masked_scores: Tensor, cls_idx: Tensor) -> Tensor:
        """Mean score (``am_score``; the sigmoid for 'none') of each pair's class on its masked
        image: masked_scores (P, C), cls_idx (P,)."""
        if self.am_score == 'softmax':
            masked_scores = masked_scores.softmax(dim=1)
        picked = masked_scores.gather(1, cls_idx[:, None]).squeeze(1)
        if self.am_score in ('sigmoid', 'none'):
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

    def forward(self, scores: Tensor, labels: Tensor, alpha: Optional[float] = None,
                masked_scores: Optional[Tensor] = None, masked_cls: Optional[Tensor] = None,
                masked_area: Optional[Tensor] = None,
                attention: Optional[Tensor] = None, target: Optional[Tensor] = None,
                valid: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Weighted losses: ``loss_cl`` always; ``loss_am`` and ``loss_e`` when their inputs
        are given. ``alpha`` weighs L_am: the segmentor's α of the current iteration (warm-up
        and ramp, :meth:`am_weight`); None means ``loss_weight_am``. Shapes as in
        :meth:`loss_cl`, :meth:`loss_am` and :meth:`loss_e`."""
        losses = {'loss_cl': self.loss_weight_cl * self.loss_cl(scores, labels)}
        if masked_scores is not None:
            alpha = self.loss_weight_am if alpha is None else alpha
            losses['loss_am'] = alpha * self.loss_am(masked_scores, masked_cls, masked_area)
        if attention is not None:
            losses['loss_e'] = self.loss_weight_e * self.loss_e(attention, target, valid)
        return losses
