"""Attention heat maps to mmengine's visualizer backends (local files, TensorBoard, ...)."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from gain_mmseg.visualization import heatmap_overlay, picture_grid


@HOOKS.register_module()
class AttentionVisualizationHook(Hook):
    """During validation, send the attention maps of some images to the visualizer.

    For every ``interval``-th validation batch, the first image and the attention map of each
    of its classes (the ``seg_logits`` channels an ``AttentionMiningHead`` outputs) go to
    ``runner.visualizer.add_image`` as one strip: image | one heat map per class. Which
    backends receive it is the config's ``visualizer.vis_backends`` (e.g. add
    ``dict(type='TensorboardVisBackend')``).

    Args:
        draw: enable the hook. Default False, so it costs nothing unless asked for.
        interval: every how many validation batches. Default 10.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 10) -> None:
        self.draw = draw
        self.interval = interval

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs or batch_idx % self.interval:
            return
        sample = outputs[0]
        image = mmcv.imread(sample.img_path, channel_order='rgb')
        logits = sample.seg_logits.data.cpu().numpy()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        background = model.decode_head.background_index
        classes = [c for c in sample.metainfo.get('img_labels', []) if c != background]
        strip = [image] + [heatmap_overlay(image, logits[c]) for c in classes]
        stem = osp.splitext(osp.basename(sample.img_path))[0]
        runner.visualizer.add_image(f'attention_{stem}', picture_grid([strip]),
                                    step=runner.iter)
