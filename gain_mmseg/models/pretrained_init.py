"""A ``Pretrained`` initialisation that cannot silently leave a backbone random.

mmengine's ``PretrainedInit`` loads non-strictly and only logs what did not match: a checkpoint
whose keys lack the module's prefix (``timm_model.`` of a ``TIMMBackbone``, ``backbone.`` of a
whole segmentor) loads nothing, and training goes on from random weights with one warning in
the log. This one, registered under the same name (so every ``init_cfg=dict(type='Pretrained',
...)`` uses it once ``gain_mmseg`` is imported), loads the same way but raises when any weight
of the module is missing from the checkpoint. Extra checkpoint keys (an ImageNet classifier's
``fc``) stay allowed, as before.
"""
import os.path as osp

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import (
    _load_checkpoint,
    _load_checkpoint_with_prefix,
    load_state_dict,
)
from torch import nn

from gain_mmseg.apis import strip_module_prefix

# Counters that old checkpoints lack; a missing one does not make a network random.
_OPTIONAL = ('num_batches_tracked', )


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class CheckedPretrainedInit(PretrainedInit):
    """mmengine's ``PretrainedInit`` (same arguments), strict about missing weights.

    Args:
        checkpoint: path or URL of the checkpoint.
        prefix: load only the keys starting with it, prefix removed (e.g. ``'backbone.'``).
        map_location: where tensors are loaded. Default 'cpu'.
    """

    def __call__(self, module: nn.Module) -> None:
        if '://' not in self.checkpoint and not osp.isfile(self.checkpoint):
            raise FileNotFoundError(
                f'Pretrained checkpoint {self.checkpoint!r} of {type(module).__name__} does not '
                'exist (converted weights are made by tools/model_converters/, see the config)')
        if self.prefix is None:
            ckpt = _load_checkpoint(self.checkpoint, map_location=self.map_location)
            state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
            if not isinstance(state, dict):
                raise ValueError(f'{self.checkpoint!r} holds no state dict')
            state = strip_module_prefix(state)
        else:
            state = _load_checkpoint_with_prefix(self.prefix, self.checkpoint,
                                                 map_location=self.map_location)
        own = [k for k in module.state_dict() if not k.endswith(_OPTIONAL)]
        missing = [k for k in own if k not in state]
        if missing:
            example = next(iter(state), '(none)')
            raise KeyError(
                f'Pretrained checkpoint {self.checkpoint!r}'
                f"{f' (prefix {self.prefix!r})' if self.prefix else ''} lacks {len(missing)} of "
                f'the {len(own)} weights of {type(module).__name__}, which would stay random: '
                f'{missing[:4]}{" ..." if len(missing) > 4 else ""}; its keys look like '
                f'{example!r}')
        print_log(f'load model from: {self.checkpoint}', logger='current')
        load_state_dict(module, state, strict=False, logger='current')
        if hasattr(module, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info
            update_init_info(module, init_info=self._get_init_info())
