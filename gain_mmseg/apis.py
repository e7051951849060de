"""Loading checkpoints without silent surprises: strict keys, clear errors naming the file."""
import glob
import os
import os.path as osp
import re
from typing import Optional

import torch
from mmengine.config import Config
from mmseg.apis import init_model
from mmseg.registry import MODELS
from torch import nn

from gain_mmseg.fileio import write_text


def read_checkpoint(path: str) -> dict:
    """The checkpoint at ``path`` (a dict with a ``state_dict`` of tensors, or such a state
    dict itself), or a clear error naming the file: missing, not a PyTorch checkpoint
    (a text file, a truncated write), or holding no state dict."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or truncated files
        raise ValueError(f'{path!r} is not a readable PyTorch checkpoint '
                         f'({type(exc).__name__}: {str(exc)[:120]})') from exc
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not state or not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path!r} holds no state dict of tensors')
    return ckpt if 'state_dict' in ckpt else {'state_dict': ckpt}


def strip_module_prefix(state: dict) -> dict:
    """``state`` with the ``module.`` prefix of a DDP-wrapped model's keys removed."""
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def load_weights_strict(model: nn.Module, path: str) -> dict:
    """Load ``path`` into ``model``; every key must match in name and shape, else a
    ValueError lists what does not (e.g. a stage-2 checkpoint given for a stage-1 model).
    Returns the checkpoint."""
    ckpt = read_checkpoint(path)
    state = strip_module_prefix(ckpt['state_dict'])
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or shape:
        parts = [f'{len(keys)} {what} (e.g. {keys[:3]})' for what, keys in (
            ('missing', missing), ('unexpected', unexpected), ('of another shape', shape))
            if keys]
        raise ValueError(f'checkpoint {path!r} does not fit the model of the config: '
                         + '; '.join(parts))
    model.load_state_dict(state, strict=True)
    return ckpt


def check_checkpoint_fits(model_cfg: dict, path: str) -> None:
    """Raise :func:`load_weights_strict`'s error unless ``path`` fits the model that
    ``model_cfg`` builds (built without loading any pretrained weights)."""
    model_cfg = dict(model_cfg, pretrained=None)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone'] = dict(model_cfg['backbone'], init_cfg=None)
    load_weights_strict(MODELS.build(model_cfg), path)


def init_stage1_model(cfg: Config, checkpoint: str, device: str = 'cpu') -> nn.Module:
    """mmseg's ``init_model`` for a stage-1 GAIN model (decode head
    :class:`AttentionMiningHead`), with the weights of ``checkpoint`` loaded strictly."""
    head = cfg.model.get('decode_head') or {}
    if head.get('type') != 'AttentionMiningHead':
        raise ValueError(f"config {cfg.filename!r} has no AttentionMiningHead (decode head "
                         f"{head.get('type')!r}): attention maps need a stage-1 GAIN config")
    model = init_model(cfg, None, device=device)
    meta = load_weights_strict(model, checkpoint).get('meta') or {}
    if 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return model


def repair_last_checkpoint(work_dir: str) -> Optional[str]:
    """Before resuming in ``work_dir``: set aside (``*.pth.corrupt``) iteration checkpoints
    that do not load (a write killed half-way), and point mmengine's ``last_checkpoint`` at
    the newest one that does (or remove it). Returns that checkpoint, or None."""
    def iteration(path: str) -> int:
        found = re.search(r'(\d+)\.pth$', path)
        return int(found.group(1)) if found else -1

    for path in sorted(glob.glob(osp.join(work_dir, '*.pth')), key=iteration, reverse=True):
        try:
            read_checkpoint(path)
        except ValueError:
            os.replace(path, path + '.corrupt')
            continue
        _write_last(work_dir, path)
        return path
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(last):
        os.remove(last)
    return None


def _write_last(work_dir: str, path: str) -> None:
    write_text(osp.abspath(path), osp.join(work_dir, 'last_checkpoint'))
