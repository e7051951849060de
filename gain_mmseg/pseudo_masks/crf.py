"""Dense CRF refinement of pseudo masks, through the maintained ``pydensecrf2`` package."""
from typing import Callable, Tuple

import numpy as np


def require_crf() -> Tuple[object, Callable]:
    """``pydensecrf.densecrf`` and its ``unary_from_labels``; an ImportError that says how to
    install them when ``pydensecrf2`` is missing."""
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_labels
    except ImportError as err:
        raise ImportError('dense CRF refinement (pseudo_mask.crf=True) needs pydensecrf2: '
                          '`pip install pydensecrf2`') from err
    return dcrf, unary_from_labels


def crf_refine(image: np.ndarray, labels: np.ndarray, num_labels: int, iters: int = 10,
               gt_prob: float = 0.7) -> np.ndarray:
    """Refine a label map with a fully connected CRF (Krähenbühl & Koltun, 2011).

    Uses the settings of IRN's ``crf_inference_label``: unary from the hard labels with
    confidence ``gt_prob``, a Gaussian pairwise term (sxy 3, compat 3) and a bilateral one
    (sxy 50, srgb 5, compat 10).

    Args:
        image: RGB image, uint8 (H, W, 3).
        labels: initial labels in ``[0, num_labels)``, integer (H, W).
        num_labels: number of labels.
        iters: mean-field iterations. Default 10.
        gt_prob: confidence of the initial labels. Default 0.7.

    Returns:
        Refined labels, int64 (H, W).
    """
    dcrf, unary_from_labels = require_crf()
    h, w = labels.shape
    crf = dcrf.DenseCRF2D(w, h, num_labels)
    crf.setUnaryEnergy(unary_from_labels(labels, num_labels, gt_prob=gt_prob, zero_unsure=False))
    crf.addPairwiseGaussian(sxy=3, compat=3)
    crf.addPairwiseBilateral(sxy=50, srgb=5, rgbim=np.ascontiguousarray(image), compat=10)
    q = crf.inference(iters)
    return np.argmax(np.array(q).reshape(num_labels, h, w), axis=0).astype(np.int64)
