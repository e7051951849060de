"""Resume that continues the random streams, not only the weights."""
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

KEY = 'torch_random_state'


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Keep torch's random state in every checkpoint and restore it when a run resumes.

    mmengine resumes the weights, optimizer, schedulers and the data (it re-seeds and replays
    the batches already trained, so augmentation continues exactly), but torch's own random
    stream restarts from the seed: dropout (DeepLabV3's head) and noise fills then draw other
    numbers than the uninterrupted run did, and a resumed run drifts from it. Restored in
    ``before_train``, after mmengine's resume has re-seeded and before the first resumed
    iteration. ``tools/train.py`` adds this hook to every run. The state of this process is
    saved (rank 0 writes checkpoints; ranks seeded alike draw alike).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._resumed: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = {'cpu': torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint[KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed = checkpoint.get(KEY)

    def before_train(self, runner) -> None:
        if self._resumed is None or not runner.iter:
            return  # a fresh run, or weights loaded with load_from: nothing to continue
        torch.set_rng_state(self._resumed['cpu'])
        if 'cuda' in self._resumed and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self._resumed['cuda'])
        self._resumed = None
