"""GAIN's training step as an mmseg segmentor: streams S_cl, S_am and S_e (Li et al., 2018)."""
import logging
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from gain_mmseg.models.attention import label_pairs, normalize_attention
from gain_mmseg.structures.image_labels import batch_image_labels

AM_FILLS = ('mean', 'blur', 'noise')


@MODELS.register_module()
class GAINEncoderDecoder(EncoderDecoder):
    """Encoder-decoder whose decode head is an :class:`AttentionMiningHead`, trained with GAIN.

    One training step, for a batch of N images with image-level labels:

    1. S_cl: features, class scores s and ``L_cl``.
    2. Attention A^c (Eq. 1-2) for every (image, ground-truth class) pair, kept in the graph,
       normalised per map and upsampled to the input.
    3. S_am: soft masks ``T(A) = sigmoid(ω (A − σ))`` (Eq. 4), masked images
       ``I* = I − T(A) ⊙ (I − F)`` (Eq. 3; F = 0 in normalised space, the paper's literal form,
       is the mean colour), all pairs scored in one batched forward pass, ``L_am`` (Eq. 5).
    4. S_e: for pixel-supervised samples (metainfo ``pixel_supervised``), ``L_e`` (Eq. 7).
       No other sample's mask reaches any loss: its only use is its class set.

    Args:
        am_sigma: σ of T(A). Default 0.5.
        am_omega: ω of T(A). Default 10.0.
        am_bg_zone: SeeNet's background prior (Hou et al. 2018) in GAIN's frame: pixels whose
            attention (detached) is below this value are background, never erased, so T(A)
            is 0 there and L_am cannot spread the attention into them; mining acts on the
            potential zone A ≥ am_bg_zone only. None: no such zone (the paper). Default None.
        am_fill: what replaces the attended region: 'mean' (zero in normalised space, the
            paper), 'blur' (the blurred image) or 'noise' (Gaussian noise). Default 'mean'.
        am_fill_kernel: box-blur size for ``am_fill='blur'``: an odd number of pixels, or a
            float in (0, 1), a fraction of the input's shorter side (its integer part made odd
            by adding one if even), which follows the input size. Default 15.
        am_mask_mode: 'per_class' (one masked image per image and class, the paper) or
            'union' (one per image, masking all its classes). Default 'per_class'.
        am_erase: where S_am erases the attended region: 'image' (the paper: I* of Eq. 3
            goes through the whole network again) or 'feature' (ACoL's erasing, Zhang et al.
            2018, in GAIN's frame: the head scores the attention features f with the region
            set to zero, f* = f ⊙ (1 − T(A)) with T(A) at f's resolution (h, w); no second
            backbone pass, ``am_fill`` does not apply; without ``am_scoring_grad`` f enters
            f* detached, so L_am still acts through the attention map only). Default 'image'.
        am_scoring_grad: whether L_am back-propagates into the weights through the scoring of
            the masked image: True (a literal reading of the paper; the network can also lower
            L_am by learning to reject masked images) or False (the masked image is scored
            with detached weights, so L_am acts only through the attention map). Default False.
        am_freeze_bn: BatchNorm layers run in eval mode on the masked stream, so masked images
            neither shift the running statistics nor are normalised by their own. Default True.
        am_grad_to: which weights L_am trains through the attention map: 'all' (backbone and
            head, the paper), 'head' (the classifier weights only: the backbone's features
            are those L_cl learns, L_am only re-weights their channels), or a list of
            parameter-name prefixes, e.g. the head and the backbone's last stage
            ``['decode_head', 'backbone.timm_model.blocks.6']`` (L_am's gradient reaches those
            parameters only; each prefix must name at least one). Default 'all'.
        am_log_when_off: while α = 0 (CAM baseline, warm-up), still compute L_am without
            gradient and log it as ``am_value``. The weights are the same either way; the
            extra masked pass makes such a step 1.5-1.8 times as long (the demo's training,
            ``benchmarks/bench_attention.py``). Default False.
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self,
                 *args,
                 am_sigma: float = 0.5,
                 am_omega: float = 10.0,
                 am_bg_zone: Optional[float] = None,
                 am_fill: str = 'mean',
                 am_fill_kernel: Union[int, float] = 15,
                 am_mask_mode: str = 'per_class',
                 am_erase: str = 'image',
                 am_scoring_grad: bool = False,
                 am_freeze_bn: bool = True,
                 am_grad_to: Union[str, Sequence[str]] = 'all',
                 am_log_when_off: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_auxiliary_head:
            raise ValueError('GAINEncoderDecoder trains no auxiliary head: set '
                             'auxiliary_head=None in the model config')
        if am_fill not in AM_FILLS:
            raise ValueError(f'am_fill must be one of {AM_FILLS}, got {am_fill!r}')
        if am_mask_mode not in ('per_class', 'union'):
            raise ValueError(f"am_mask_mode must be 'per_class' or 'union', got {am_mask_mode!r}")
        if am_erase not in ('image', 'feature'):
            raise ValueError(f"am_erase must be 'image' or 'feature', got {am_erase!r}")
        if isinstance(am_grad_to, str):
            if am_grad_to not in ('all', 'head'):
                raise ValueError("am_grad_to must be 'all', 'head' or a list of parameter-name "
                                 f'prefixes, got {am_grad_to!r}')
        else:
            am_grad_to = tuple(am_grad_to)
            names = [n for n, _ in self.named_parameters()]
            unmatched = [p for p in am_grad_to
                         if not isinstance(p, str) or not any(n.startswith(p) for n in names)]
            if not am_grad_to or unmatched:
                top = sorted({n.rsplit('.', 2)[0] for n in names})
                raise ValueError(f'am_grad_to: the prefixes {unmatched or "(none)"} name no '
                                 f'parameter of this model; its modules include {top[:12]}')
        if isinstance(am_fill_kernel, float):
            if not 0 < am_fill_kernel < 1:
                raise ValueError('a float am_fill_kernel is a fraction of the input side in '
                                 f'(0, 1), got {am_fill_kernel}')
        elif am_fill_kernel < 1 or am_fill_kernel % 2 == 0:
            raise ValueError(f'am_fill_kernel must be a positive odd size, got {am_fill_kernel}')
        if am_bg_zone is not None and not 0 < am_bg_zone < 1:
            raise ValueError(f'am_bg_zone must be in (0, 1) or None, got {am_bg_zone}')
        self.am_sigma = am_sigma
        self.am_omega = am_omega
        self.am_bg_zone = am_bg_zone
        self.am_fill = am_fill
        self.am_fill_kernel = am_fill_kernel
        self.am_mask_mode = am_mask_mode
        self.am_erase = am_erase
        self.am_scoring_grad = am_scoring_grad
        self.am_freeze_bn = am_freeze_bn
        self.am_grad_to = am_grad_to
        self.am_log_when_off = am_log_when_off
        self._warned_labels = False
        self._progress: Optional[Tuple[int, int]] = None

    def set_train_progress(self, cur_iter: int, max_iters: int) -> None:
        """Tell the model which iteration (0-based) of how many it trains next; called by
        :class:`GAINScheduleHook` before every training iteration. α's warm-up and ramp
        need it."""
        self._progress = (int(cur_iter), int(max_iters))

    def am_weight(self) -> float:
        """α of the current training iteration (the loss's warm-up and ramp)."""
        gain_loss = self.decode_head.loss_decode
        if self._progress is None:
            if gain_loss.scheduled:
                raise RuntimeError(
                    "GAINLoss's α warm-up / ramp needs the training iteration: add "
                    "dict(type='GAINScheduleHook') to custom_hooks (the GAIN configs have it)")
            return gain_loss.loss_weight_am
        return gain_loss.am_weight(*self._progress)

    # ---- training -------------------------------------------------------------------------

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """GAIN losses of a batch: inputs (N, 3, H, W) and their ``SegDataSample``."""
        head = self.decode_head
        gain_loss = head.loss_decode
        labels = self.image_labels(data_samples).to(inputs.device)
        pixel = torch.tensor([bool(s.metainfo.get('pixel_supervised', False))
                              for s in data_samples], device=inputs.device)

        scores, feats = head.forward_cls(self.extract_feat(inputs))
        img_idx, cls_idx = label_pairs(labels)
        alpha = self.am_weight()
        use_am = alpha > 0 or self.am_log_when_off
        use_e = gain_loss.loss_weight_e > 0 and bool(pixel[img_idx].any())
        if img_idx.numel() == 0 or not (use_am or use_e):
            return gain_loss(scores, labels, alpha)

        head_only = self.am_grad_to == 'head'
        in_features = self.am_erase == 'feature'
        # Attention at the features' resolution, computed once: L_e and image-space erasing
        # take it upsampled to the input, feature-space erasing as it is.
        feat_maps = (self._feature_attention(feats, scores, img_idx, cls_idx)
                     if use_e or not head_only else None)
        maps = self._to_input(feat_maps, inputs) if use_e or not (
            head_only or in_features) else None
        extra = {}
        if use_am:
            am_maps = feat_maps if in_features else maps
            if head_only:
                # The same maps, but L_am's gradient stops at the features.
                am_feats = feats.detach().requires_grad_(not head.use_cam)
                am_scores = scores if head.use_cam else head.classify(am_feats)
                am_maps = self._feature_attention(am_feats, am_scores, img_idx, cls_idx)
                if not in_features:
                    am_maps = self._to_input(am_maps, inputs)
            extra.update(self._attention_mining(
                feats if in_features else inputs, am_maps, img_idx, cls_idx, alpha > 0))
        if use_e:
            extra.update(self._extra_supervision(maps, img_idx, cls_idx, pixel, data_samples))
        losses = gain_loss(scores, labels, alpha, **{
            k: v for k, v in extra.items() if k != 'am_value'})
        if isinstance(self.am_grad_to, tuple) and 'loss_am' in losses and \
                losses['loss_am'].requires_grad:
            losses['loss_am'] = self._restrict_grad(losses['loss_am'], self.am_grad_to)
        if 'am_value' in extra:
            losses['am_value'] = extra['am_value']
        return losses

    def _restrict_grad(self, loss: Tensor, prefixes: Tuple[str, ...]) -> Tensor:
        """``loss`` (a scalar) with its value, whose gradient reaches only the parameters whose
        names start with ``prefixes``: ``loss.detach() + Σ_p ⟨p, g_p⟩ − (the same, detached)``
        with g_p = ∂loss/∂p taken now (an extra backward pass through L_am's graph). The
        optimiser's backward then adds exactly g_p to those parameters and nothing to others."""
        params = [p for n, p in self.named_parameters()
                  if p.requires_grad and n.startswith(prefixes)]
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        proxy = sum((p * g).sum() for p, g in zip(params, grads) if g is not None)
        if not torch.is_tensor(proxy):  # L_am reaches none of them
            return loss.detach()
        return loss.detach() + (proxy - proxy.detach())

    def _feature_attention(self, feats: Tensor, scores: Tensor, img_idx: Tensor,
                           cls_idx: Tensor) -> Tensor:
        """Normalised attention (P, h, w) of the pairs at the features' resolution, in the
        graph."""
        return normalize_attention(self.decode_head.attention(
            feats, scores, img_idx, cls_idx, create_graph=True))

    def _to_input(self, maps: Tensor, inputs: Tensor) -> Tensor:
        """Maps (P, h, w) upsampled to the input (N, 3, H, W)'s size: (P, H, W)."""
        return resize(maps[:, None], size=inputs.shape[2:], mode='bilinear',
                      align_corners=self.align_corners).squeeze(1)

    def image_labels(self, data_samples: SampleList) -> Tensor:
        """Foreground image-level labels, bool (N, C_fg), in the classifier's class order."""
        if self.training and not self._warned_labels and not all(
                'img_labels' in s.metainfo for s in data_samples):
            self._warned_labels = True
            print_log('image-level labels are read from the augmented gt_sem_seg: after a crop '
                      'that looks at the mask (RandomCrop cat_max_ratio) they say more than an '
                      "image-level label. Add dict(type='AddImageLevelLabels', num_classes=...) "
                      "after LoadAnnotations and 'img_labels' to PackSegInputs' meta_keys.",
                      logger='current', level=logging.WARNING)
        labels = batch_image_labels(data_samples, self.num_classes, self.decode_head.ignore_index)
        return labels[:, self.decode_head.fg_index]

    def soft_mask(self, maps: Tensor) -> Tensor:
        """T(A) = sigmoid(ω (A − σ)) (Eq. 4), same shape as the normalised maps A; with
        ``am_bg_zone`` δ, T(A) ⊙ [A ≥ δ] (the indicator on the detached maps: no gradient
        reaches the background zone)."""
        soft = torch.sigmoid(self.am_omega * (maps - self.am_sigma))
        if self.am_bg_zone is None:
            return soft
        return soft * (maps.detach() >= self.am_bg_zone)

    def masked_images(self, images: Tensor, masks: Tensor) -> Tensor:
        """I* = I − T ⊙ (I − F) (Eq. 3), images (M, 3, H, W), soft masks (M, H, W)."""
        if self.am_fill == 'mean':
            fill = torch.zeros_like(images)
        elif self.am_fill == 'blur':
            fill = box_blur(images, self.fill_kernel(images.shape[-2:]))
        else:
            fill = torch.randn_like(images)
        return images - masks[:, None] * (images - fill)

    @staticmethod
    def erased_features(feats: Tensor, masks: Tensor) -> Tensor:
        """f* = f ⊙ (1 − T) (ACoL's erasing), features (M, K, h, w), soft masks (M, h, w)."""
        return feats * (1 - masks[:, None])

    def fill_kernel(self, size: Tuple[int, int]) -> int:
        """The blur's box side in pixels for inputs of ``size`` (H, W)."""
        if isinstance(self.am_fill_kernel, int):
            return self.am_fill_kernel
        return int(self.am_fill_kernel * min(size)) // 2 * 2 + 1

    def _attention_mining(self, inputs: Tensor, maps: Tensor, img_idx: Tensor, cls_idx: Tensor,
                          train: bool) -> Dict[str, Tensor]:
        """Stream S_am: masked inputs scored in one forward pass, inputs to L_am (Eq. 5).

        ``inputs`` are the images (N, 3, H, W) and ``maps`` (P, H, W) with
        ``am_erase='image'``; the attention features f (N, K, h, w) and maps (P, h, w) with
        ``am_erase='feature'``."""
        soft = self.soft_mask(maps if train else maps.detach())
        in_features = self.am_erase == 'feature'
        if in_features and not self.am_scoring_grad:
            inputs = inputs.detach()
        erase = self.erased_features if in_features else self.masked_images
        if self.am_mask_mode == 'union':
            rows, img_of_row = torch.unique(img_idx, return_inverse=True)
            union = soft.new_zeros((rows.numel(), ) + soft.shape[1:])
            union = union.index_reduce(0, img_of_row, soft, 'amax')
            masked, row_idx = erase(inputs[rows], union), img_of_row
        else:
            masked, row_idx = erase(inputs[img_idx], soft), None
        # With am_score='none' L_am does not use these scores (only am_value logs them), so
        # the scoring pass builds no graph.
        scored = self.decode_head.loss_decode.am_score != 'none'
        with torch.set_grad_enabled(train and scored and torch.is_grad_enabled()):
            masked_scores = self.score_masked(masked, freeze_bn=self.am_freeze_bn or not train,
                                              features=in_features)
        if row_idx is not None:
            masked_scores = masked_scores[row_idx]
        am_value = self.decode_head.loss_decode.masked_score(masked_scores.detach(), cls_idx)
        if not train:
            return {'am_value': am_value}
        return {'masked_scores': masked_scores, 'masked_cls': cls_idx,
                'masked_area': soft.flatten(1).mean(1), 'am_value': am_value}

    def score_masked(self, masked: Tensor, freeze_bn: Optional[bool] = None,
                     features: bool = False) -> Tensor:
        """Class scores (M, C_fg) of masked images (M, 3, H, W) — with ``features``, of
        erased attention features (M, K, h, w), scored by the head alone — under the S_am
        options.

        ``freeze_bn`` defaults to ``am_freeze_bn``; the logging-only pass while α = 0 always
        freezes, so that a CAM baseline's BN statistics never see masked images."""
        with self._frozen_bn(self.am_freeze_bn if freeze_bn is None else freeze_bn):
            if self.am_scoring_grad:
                return self._score(masked, features)
            scorer = _Scorer(self, features)
            params = {name: p.detach() for name, p in scorer.named_parameters()}
            return torch.func.functional_call(scorer, params, (masked, ))

    def _score(self, inputs: Tensor, features: bool = False) -> Tensor:
        if features:
            return self.decode_head.classify(inputs)
        return self.decode_head.forward_cls(self.extract_feat(inputs))[0]

    def _extra_supervision(self, maps: Tensor, img_idx: Tensor, cls_idx: Tensor,
                           pixel: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Stream S_e: attention (Q, H, W) and masks H^c of the pixel-supervised pairs."""
        sel = pixel[img_idx].nonzero().squeeze(1)
        gt = torch.stack([data_samples[i].gt_sem_seg.data[0] for i in img_idx[sel].tolist()])
        fg_index = torch.as_tensor(self.decode_head.fg_index, device=gt.device)
        target = gt == fg_index[cls_idx[sel]][:, None, None]
        valid = gt != self.decode_head.ignore_index
        return {'attention': maps[sel], 'target': target, 'valid': valid}

    @contextmanager
    def _frozen_bn(self, freeze: bool) -> Iterator[None]:
        bns = [m for m in self.modules() if isinstance(m, _BatchNorm) and m.training]
        if freeze:
            for m in bns:
                m.eval()
        try:
            yield
        finally:
            for m in bns:
                m.train()

    # ---- inference ------------------------------------------------------------------------

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """mmseg's predict; samples with ground truth pass their image labels to the head."""
        for sample in data_samples or []:
            if 'img_labels' not in sample.metainfo and 'gt_sem_seg' in sample:
                labels = batch_image_labels([sample], self.num_classes,
                                            self.decode_head.ignore_index)[0]
                sample.set_metainfo({'img_labels': labels.nonzero().flatten().tolist()})
        return super().predict(inputs, data_samples)


class _Scorer(nn.Module):
    """The S_am scoring pass of ``segmentor`` as a module of its own, so that
    ``torch.func.functional_call`` can run it with detached weights (L_am's gradient then
    reaches the weights through the attention map only) without a private mode on the
    segmentor's ``forward``. Made per call: it adds nothing to the segmentor's state."""

    def __init__(self, segmentor: nn.Module, features: bool = False) -> None:
        super().__init__()
        self.segmentor = segmentor
        self.features = features

    def forward(self, inputs: Tensor) -> Tensor:
        return self.segmentor._score(inputs, self.features)


def box_blur(images: Tensor, kernel: int) -> Tensor:
    """Mean over the ``kernel`` × ``kernel`` window inside the image, (N, C, H, W) → same.

    Equals ``F.avg_pool2d(images, kernel, 1, kernel // 2, count_include_pad=False)`` (the
    window clipped at the border is a product of clipped rows and columns), computed as a row
    pass and a column pass: 2k instead of k² additions per pixel (3.3× faster for the
    15 px box on CPU, benchmarks/bench_attention.py).
    """
    pad = kernel // 2
    rows = F.avg_pool2d(images, (1, kernel), 1, (0, pad), count_include_pad=False)
    return F.avg_pool2d(rows, (kernel, 1), 1, (pad, 0), count_include_pad=False)
