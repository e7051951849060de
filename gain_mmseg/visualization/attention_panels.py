"""What a figure of attention needs per image: picture, attention maps, masks."""
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from gain_mmseg.datasets.image_labels import batch_image_labels
from gain_mmseg.pseudo_masks.generator import PseudoMaskGenerator


def attention_panels(generator: PseudoMaskGenerator, dataset, indices: Sequence[int]
                     ) -> List[Dict[str, np.ndarray]]:
    """For each image: ``image`` RGB uint8 (H, W, 3), ``classes`` (K,), normalised attention
    ``maps`` (K, H, W), the pseudo ``mask`` (H, W) and the ground truth ``gt`` (H, W), all
    computed with the generator's settings (same attention function as training)."""
    model, head = generator.model, generator.head
    model.eval()
    panels = []
    for idx in indices:
        item = dataset[idx]
        data = model.data_preprocessor(pseudo_collate([item]), False)
        sample = data['data_samples'][0]
        labels = batch_image_labels([sample], head.num_classes, head.ignore_index)
        _, cls_idx, maps = generator.fused_attention(data['inputs'], labels[:, head.fg_index])
        classes = torch.as_tensor(head.fg_index)[cls_idx.cpu()]
        image = item['inputs'].permute(1, 2, 0).flip(-1).numpy().copy()
        panels.append({
            'image': image,
            'classes': classes.numpy(),
            'maps': maps.cpu().numpy(),
            'mask': generator.mask(maps, classes.to(maps.device), image).cpu().numpy(),
            'gt': sample.gt_sem_seg.data[0].cpu().numpy(),
            'img_path': sample.img_path,
        })
    return panels
