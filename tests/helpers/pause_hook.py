"""A training hook for kill tests: after the checkpoint of iteration ``at_iter`` is written,
create ``marker`` and wait there until killed — unless ``marker`` exists already (a resumed
or an uninterrupted run). A test kills the process when the marker appears: a condition it
observes, not a sleep, and always mid-run."""
import os.path as osp
import time

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class PauseOnceHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW) has saved this iteration

    def __init__(self, at_iter: int, marker: str) -> None:
        self.at_iter = at_iter
        self.marker = marker

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 != self.at_iter or osp.exists(self.marker):
            return
        with open(self.marker, 'w', encoding='utf-8') as f:
            f.write(str(runner.iter + 1))
        while True:
            time.sleep(1)
