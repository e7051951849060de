"""Image-level labels: the only supervision a weakly labelled image gives to stage 1."""
from typing import List, Sequence

import torch
from torch import Tensor


def labels_from_mask(mask: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """Multi-hot vector of the classes present in a label map.

    Args:
        mask: label map of integer class indices, any shape (e.g. (1, H, W)).
        num_classes: number of classes, background included.
        ignore_index: label value that names no class.

    Returns:
        Bool tensor (num_classes,), True for every class with at least one pixel.
    """
    values = mask.unique()
    values = values[(values != ignore_index) & (values >= 0) & (values < num_classes)]
    present = torch.zeros(num_classes, dtype=torch.bool, device=mask.device)
    present[values.long()] = True
    return present


def batch_image_labels(data_samples: Sequence, num_classes: int,
                       ignore_index: int = 255) -> Tensor:
    """Image-level labels of a batch of ``SegDataSample``, background included.

    A sample whose metainfo holds ``img_labels`` (a list of class indices) uses it; otherwise
    the labels are the classes present in its ``gt_sem_seg``.

    Returns:
        Bool tensor (N, num_classes).
    """
    rows = []
    for sample in data_samples:
        if 'img_labels' in sample.metainfo:
            row = torch.zeros(num_classes, dtype=torch.bool)
            row[list(sample.metainfo['img_labels'])] = True
        else:
            row = labels_from_mask(sample.gt_sem_seg.data, num_classes, ignore_index).cpu()
        rows.append(row)
    return torch.stack(rows)


def foreground_indices(num_classes: int, background_index: int) -> List[int]:
    """Dataset class index of each classifier output, i.e. every class but background."""
    return [c for c in range(num_classes) if c != background_index]
