"""Leave stage 2's input behind at the end of stage 1: pseudo masks in the work dir."""
import os.path as osp

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from gain_mmseg.pseudo_masks import generate_pseudo_masks, pseudo_mask_settings


@HOOKS.register_module()
class CAMPseudoLabelHook(Hook):
    """After training, write pseudo masks of the training images with the trained model.

    Calls the same generation as ``tools/gen_pseudo_labels.py``, with the same settings: the
    config's ``pseudo_mask`` dict (scales, flip, background rule, ignore band, CRF, reference
    size; see :func:`pseudo_mask_settings`). Under distributed training
    each rank labels its share. With ``evaluate`` the mIoU against the ground truth is logged
    (``pseudo_mask/mIoU``, ``pseudo_mask/best_mIoU``) and written to ``<out_dir>.json``.

    Args:
        out_dir: output folder, relative to the work dir. Default 'pseudo_masks'.
        split: images to label. Default 'train'.
        save_maps: also save the raw maps (.npz). Default False.
        overwrite: rewrite existing masks. Default True (a new model's masks replace the old).
        evaluate: score the masks against the ground truth. Default True.
        batch_size: images per forward pass. Default 8.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'pseudo_masks', split: str = 'train',
                 save_maps: bool = False, overwrite: bool = True, evaluate: bool = True,
                 batch_size: int = 8) -> None:
        self.out_dir = out_dir
        self.split = split
        self.save_maps = save_maps
        self.overwrite = overwrite
        self.evaluate = evaluate
        self.batch_size = batch_size

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        out_dir = osp.join(runner.work_dir, self.out_dir)
        runner.logger.info(f'writing pseudo masks of the {self.split!r} images to {out_dir}')
        results = generate_pseudo_masks(
            model, runner.cfg, out_dir, split=self.split, save_maps=self.save_maps,
            overwrite=self.overwrite, evaluate=self.evaluate, batch_size=self.batch_size,
            results_json=f'{out_dir}.json' if self.evaluate else None, progress=False,
            **pseudo_mask_settings(runner.cfg))
        if results is not None:
            runner.logger.info(f"pseudo-mask mIoU {results['mIoU']:.2f}, best "
                               f"{results['best_mIoU']:.2f} at background threshold "
                               f"{results['best_threshold']:.2f}")
            runner.message_hub.update_scalar('pseudo_mask/mIoU', results['mIoU'])
            runner.message_hub.update_scalar('pseudo_mask/best_mIoU', results['best_mIoU'])
