"""The attention map of GAIN (Li et al., CVPR 2018, Eq. 1-2): the one definition of it.

Training (the segmentor), validation (the decode head) and pseudo-mask generation all call
these functions, so the pseudo masks are what the model was trained to produce.

Attention maps are requested for a list of (image, class) pairs, given as two index tensors
``img_idx`` and ``cls_idx`` of shape (P,), so that every ground-truth class of every image in a
batch is handled in one call.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def cam(feats: Tensor, weight: Tensor, img_idx: Tensor, cls_idx: Tensor) -> Tensor:
    """Grad-CAM of a GAP + linear classifier, computed analytically (no autograd call).

    For ``s^c = W_c · GAP(f) + b_c`` the gradient ``∂s^c/∂f_k`` is ``W_ck / HW`` at every
    position, so Eq. 1-2 give ``A^c = ReLU(Σ_k W_ck f_k)`` (with the spatial *sum* of the
    gradient as channel weight, see :func:`grad_cam`): this equals :func:`grad_cam` exactly,
    not only after normalisation.

    Args:
        feats: features f, (N, K, h, w).
        weight: classifier weights W, (C, K).
        img_idx: image of each pair, (P,).
        cls_idx: class of each pair, (P,).

    Returns:
        Unnormalised attention A, (P, h, w), non-negative.
    """
    return F.relu(torch.einsum('pkhw,pk->phw', feats[img_idx], weight[cls_idx]))


def grad_cam(feats: Tensor, scores: Tensor, img_idx: Tensor, cls_idx: Tensor,
             create_graph: bool) -> Tensor:
    """Grad-CAM for any differentiable head (Eq. 1-2), through ``torch.autograd.grad``.

    The channel weight is the spatial sum of the gradient: the paper's average times HW, a
    constant that normalisation removes anyway, but which keeps the maps' magnitude
    independent of the feature size, so that maps of several input scales can be summed
    with equal weight (pseudo masks) and stay far above the normalisation's eps.

    One gradient call per "rank" r (the r-th class of every image at once), since the
    gradient of a sum over images separates by image while two classes of one image would mix.
    Layers that couple the images of a batch (BatchNorm in training mode inside the head) add
    their cross-image terms, as in any batched Grad-CAM.

    Args:
        feats: features f, (N, K, h, w); ``scores`` must have been computed from them.
        scores: class scores s, (N, C).
        img_idx: image of each pair, (P,).
        cls_idx: class of each pair, (P,).
        create_graph: keep the result differentiable (training, Eq. 5 and 7 back-propagate
            through A); False for inference.

    Returns:
        Unnormalised attention A, (P, h, w), non-negative.
    """
    out = feats.new_zeros((img_idx.numel(), ) + feats.shape[-2:])
    ranks = _rank_within_image(img_idx)
    for r in range(int(ranks.max()) + 1 if ranks.numel() else 0):
        sel = (ranks == r).nonzero().squeeze(1)
        target = scores[img_idx[sel], cls_idx[sel]].sum()
        grads, = torch.autograd.grad(target, feats, create_graph=create_graph,
                                     retain_graph=True)
        weights = grads[img_idx[sel]].sum(dim=(2, 3))
        maps = F.relu(torch.einsum('pkhw,pk->phw', feats[img_idx[sel]], weights))
        out = out.index_put((sel, ), maps)
    return out


def normalize_attention(attention: Tensor, eps: float = 1e-5) -> Tensor:
    """Divide each map by its own maximum (per image, per class), giving values in [0, 1].

    Args:
        attention: non-negative maps, (P, h, w).
        eps: keeps an all-zero map at zero instead of NaN.

    Returns:
        Normalised maps, (P, h, w).
    """
    peak = attention.flatten(1).max(dim=1).values
    return attention / (peak[:, None, None] + eps)


def label_pairs(labels: Tensor) -> Tuple[Tensor, Tensor]:
    """(image, class) index pairs of a multi-hot label matrix (N, C), each of shape (P,)."""
    img_idx, cls_idx = labels.nonzero(as_tuple=True)
    return img_idx, cls_idx


def _rank_within_image(img_idx: Tensor) -> Tensor:
    """For pairs grouped by image, the position of each pair among its image's pairs, (P,)."""
    _, counts = torch.unique_consecutive(img_idx, return_counts=True)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    return torch.arange(img_idx.numel(), device=img_idx.device) - starts
