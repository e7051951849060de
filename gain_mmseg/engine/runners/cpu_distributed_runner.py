"""mmengine's Runner, made to run distributed on machines without a GPU (gloo)."""
import logging
import os
import sys
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist, is_distributed
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch import nn


@RUNNERS.register_module()
class CPUDistributedRunner(Runner):
    """A :class:`~mmengine.runner.Runner` whose distributed mode also works on CPU.

    mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally and
    its default model wrapper passes ``device_ids=[LOCAL_RANK]`` to DDP: on a machine without
    a GPU the first fails ("no NVIDIA driver") and the second is invalid for a CPU module. On
    such a machine this runner initialises the process group with the ``gloo`` backend from
    the launcher's environment (``torchrun`` sets it) and wraps the model with
    ``device_ids=None``; everything else — and everything where CUDA is present — is
    mmengine's. ``tools/train.py`` and ``tools/test.py`` select it by themselves when a
    distributed launcher runs without a GPU (``runner_type`` in a config selects it too).
    """

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            dist_cfg = {k: v for k, v in env_cfg.get('dist_cfg', {}).items() if k != 'backend'}
            if self.launcher != 'pytorch':
                raise ValueError(f'launcher {self.launcher!r} without a GPU: use torchrun '
                                 '(--launcher pytorch, tools/dist_train.sh)')
            torch_dist.init_process_group(backend='gloo', **dist_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        if self.distributed and not torch.cuda.is_available():
            model_wrapper_cfg = dict(model_wrapper_cfg or {})
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
            model_wrapper_cfg.setdefault('broadcast_buffers', False)
            model_wrapper_cfg.setdefault('find_unused_parameters',
                                         self.cfg.get('find_unused_parameters', False))
            model_wrapper_cfg['device_ids'] = None
        return super().wrap_model(model_wrapper_cfg, model)


def select_runner_type(cfg) -> None:
    """Use :class:`CPUDistributedRunner` for a distributed launch without a GPU, unless the
    config names its own ``runner_type``."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available() \
            and 'runner_type' not in cfg:
        cfg.runner_type = 'CPUDistributedRunner'


def init_distributed(launcher: str) -> None:
    """Join the process group of a ``torchrun`` launch outside a Runner (pseudo-mask
    generation): ``nccl`` with GPUs, ``gloo`` without; nothing for launcher 'none'."""
    if launcher == 'none' or is_distributed():
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r}: only torchrun (pytorch) is supported here')
    if torch.cuda.is_available():
        init_dist(launcher, backend='nccl')  # mmengine's: sets this process's GPU
    else:
        torch_dist.init_process_group(backend='gloo')


def exit_if_distributed() -> None:
    """End a distributed tool's process once its work is done; outside a distributed run,
    return and let the tool end as usual.

    A rank that exits through interpreter finalisation with a gloo group can abort there
    ("terminate called without an active exception", SIGABRT) after its work is done: gloo's
    threads and the tensors they hold are torn down while the interpreter is. So every rank
    waits for the others, destroys the group, flushes what Python buffers (logging, stdout,
    stderr) and leaves with ``os._exit(0)``, which skips that finalisation. Call it last."""
    if not is_distributed():
        return
    torch_dist.barrier()
    torch_dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
