"""Leave stage 2's input behind at the end of stage 1: pseudo masks in the work dir."""
import os.path as osp
import shutil
from typing import Optional, Sequence

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from gain_mmseg.pseudo_masks import (
    accumulate_attention,
    generate_pseudo_masks,
    pseudo_mask_settings,
)
from gain_mmseg.pseudo_masks.crf import require_crf
from gain_mmseg.pseudo_masks.evaluation import kept_note


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
        accumulate_ratios: attention accumulation (OAA, Jiang et al. 2019): fractions of the
            schedule, in (0, 1], after whose iteration the attention of the ``split`` images
            is max-fused into ``<work_dir>/<accumulated_dir>``; the pseudo masks then label
            the max of those maps and the final model's. The training itself is unchanged
            (same weights, same random numbers). Default None: the final model's maps only.
        accumulated_dir: folder of the accumulated maps, relative to the work dir; a run
            that starts from iteration 0 empties it, a resumed run keeps it. Default
            'attention_accumulated' (``tools/gen_pseudo_labels.py --accumulated`` and the
            pipeline read it there).
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'pseudo_masks', split: str = 'train',
                 save_maps: bool = False, overwrite: bool = True, evaluate: bool = True,
                 batch_size: int = 8, accumulate_ratios: Optional[Sequence[float]] = None,
                 accumulated_dir: str = 'attention_accumulated') -> None:
        if accumulate_ratios is not None and (
                not accumulate_ratios or not all(0 < r <= 1 for r in accumulate_ratios)):
            raise ValueError('accumulate_ratios are fractions of the schedule in (0, 1], '
                             f'got {accumulate_ratios!r}')
        self.out_dir = out_dir
        self.split = split
        self.save_maps = save_maps
        self.overwrite = overwrite
        self.evaluate = evaluate
        self.batch_size = batch_size
        self.accumulate_ratios = accumulate_ratios
        self.accumulated_dir = accumulated_dir
        self._accumulate_at: set = set()

    def before_train(self, runner) -> None:
        if pseudo_mask_settings(runner.cfg)['crf']:
            require_crf()  # fail now, not after the whole training
        if self.accumulate_ratios is None:
            return
        self._accumulate_at = {max(1, round(r * runner.max_iters))
                               for r in self.accumulate_ratios}
        folder = osp.join(runner.work_dir, self.accumulated_dir)
        # A fresh run must not fuse the maps of an earlier run in the same work dir.
        if runner.iter == 0 and is_main_process() and osp.isdir(folder):
            shutil.rmtree(folder)
        barrier()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 not in self._accumulate_at:
            return
        folder = osp.join(runner.work_dir, self.accumulated_dir)
        count = accumulate_attention(
            _unwrap(runner.model), runner.cfg, folder, split=self.split,
            batch_size=self.batch_size, **pseudo_mask_settings(runner.cfg))
        runner.model.train()
        runner.logger.info(f'attention of {count} {self.split!r} images accumulated into '
                           f'{folder} (iteration {runner.iter + 1})')

    def after_train(self, runner) -> None:
        model = _unwrap(runner.model)
        out_dir = osp.join(runner.work_dir, self.out_dir)
        runner.logger.info(f'writing pseudo masks of the {self.split!r} images to {out_dir}')
        accumulated = (osp.join(runner.work_dir, self.accumulated_dir)
                       if self.accumulate_ratios is not None else None)
        results = generate_pseudo_masks(
            model, runner.cfg, out_dir, split=self.split, save_maps=self.save_maps,
            overwrite=self.overwrite, evaluate=self.evaluate, batch_size=self.batch_size,
            results_json=f'{out_dir}.json' if self.evaluate else None, progress=False,
            accumulated=accumulated, **pseudo_mask_settings(runner.cfg))
        if results is not None:
            runner.logger.info(pseudo_mask_log(results))
            runner.message_hub.update_scalar('pseudo_mask/mIoU', results['mIoU'])
            if results['best_mIoU'] is not None:
                runner.message_hub.update_scalar('pseudo_mask/best_mIoU',
                                                 results['best_mIoU'])


def pseudo_mask_log(results: dict) -> str:
    """The hook's log line of a pseudo-mask evaluation: mIoU, the sweep's best (none when every
    image kept its ground truth), the CRF and ``keep_pixel_masks`` notes."""
    line = f"pseudo-mask mIoU {results['mIoU']:.2f}"
    if results['best_mIoU'] is not None:
        line += (f", best {results['best_mIoU']:.2f} at background threshold "
                 f"{results['best_threshold']:.2f}"
                 f"{' (masks before the CRF)' if results['crf'] else ''}")
    if results.get('keep'):
        line += '; ' + kept_note(results)
    return line


def pseudo_label_hook_index(cfg) -> Optional[int]:
    """Index of the :class:`CAMPseudoLabelHook` in ``cfg.custom_hooks``, or None."""
    for i, hook in enumerate(cfg.get('custom_hooks', None) or []):
        if hook.get('type') in ('CAMPseudoLabelHook', CAMPseudoLabelHook):
            return i
    return None


def accumulated_folder(cfg, work_dir: str) -> Optional[str]:
    """The folder where ``cfg``'s :class:`CAMPseudoLabelHook` accumulates attention in a run
    in ``work_dir``, or None if it accumulates none."""
    index = pseudo_label_hook_index(cfg)
    hook = cfg.custom_hooks[index] if index is not None else {}
    if hook.get('accumulate_ratios') is None:
        return None
    return osp.join(work_dir, hook.get('accumulated_dir', 'attention_accumulated'))


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model
