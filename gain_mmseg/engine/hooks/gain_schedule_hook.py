"""Hands the training iteration to the GAIN segmentor, for α's warm-up and ramp."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class GAINScheduleHook(Hook):
    """Before every training iteration, call ``model.set_train_progress(iter, max_iters)``.

    The warm-up and ramp of α (``GAINLoss.am_warmup_*`` / ``am_ramp_*``) are functions of the
    iteration; passing it explicitly, as mmengine's parameter schedulers are stepped by a
    hook, keeps the model free of global state and works in any loop that calls hooks. A
    segmentor without ``set_train_progress`` is left alone.
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if hasattr(model, 'set_train_progress'):
            model.set_train_progress(runner.iter, runner.max_iters)
