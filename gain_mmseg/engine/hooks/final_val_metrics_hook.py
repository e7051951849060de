"""The validation that ends training, kept as a JSON file: the pipeline's evaluation step
without a second pass over the validation set."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from gain_mmseg.fileio import write_json


@HOOKS.register_module()
class FinalValMetricsHook(Hook):
    """Write the metrics of the validation at the last training iteration to ``out_file``.

    mmengine's train loops validate after the last iteration whatever ``val_interval`` is;
    those metrics are the final model's, so ``tools/test.py`` on the final checkpoint would
    only repeat them. The JSON holds the evaluator's metrics (e.g. ``mIoU``), ``iter`` and
    ``ms_per_image``: the summed batch times of the validation (data loading included, as
    timed by ``IterTimerHook``; left out without that hook) over its images. Written
    atomically, by rank 0.

    Args:
        out_file: path of the JSON file; a relative path is taken from the work dir.
    """

    priority = 'LOW'  # after IterTimerHook (NORMAL) has timed the batch

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file
        self._seconds = 0.0
        self._images = 0

    def before_val_epoch(self, runner) -> None:
        self._seconds, self._images = 0.0, 0

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs: Optional[Sequence] = None) -> None:
        if 'val/time' in runner.message_hub.log_scalars:
            self._seconds += runner.message_hub.get_scalar('val/time').current()
            self._images += len(outputs or ())

    @master_only
    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics or runner.iter != runner.max_iters:
            return
        result = {k: float(v) for k, v in metrics.items()}
        result['iter'] = runner.iter
        if self._images:
            result['ms_per_image'] = 1000 * self._seconds / self._images
        write_json(result, osp.join(runner.work_dir, self.out_file))
