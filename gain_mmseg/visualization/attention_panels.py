"""What a figure of attention needs per image: picture, attention maps, masks."""
from typing import Dict, List, Sequence

import numpy as np

from gain_mmseg.pseudo_masks.generator import PseudoMaskGenerator, rgb_image


def attention_panels(generator: PseudoMaskGenerator, dataset, indices: Sequence[int]
                     ) -> List[Dict[str, np.ndarray]]:
    """For each image: ``image`` RGB uint8 (H, W, 3), ``classes`` (K,), normalised attention
    ``maps`` (K, H, W), the pseudo ``mask`` (H, W) and the ground truth ``gt`` (H, W), all
    computed as :meth:`PseudoMaskGenerator.run` computes them (same attention function as
    training)."""
    generator.model.eval()
    panels = []
    for idx in indices:
        item = dataset[idx]
        [(sample, classes, maps)] = generator.image_attention([item])
        image = rgb_image(item)
        panels.append({
            'image': image,
            'classes': classes.cpu().numpy(),
            'maps': maps.cpu().numpy(),
            'mask': generator.mask(maps, classes, image).cpu().numpy(),
            'gt': sample.gt_sem_seg.data[0].cpu().numpy(),
            'img_path': sample.img_path,
        })
    return panels
