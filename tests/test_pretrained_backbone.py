"""ImageNet EfficientNet-Lite0 from the PyPI wheel: converted exactly, really ImageNet's, and a
Pretrained init that cannot silently leave a backbone random."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.registry import MODELS

from conftest import REPO

BACKBONE_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'efficientnet-lite0.py')


def build_backbone(checkpoint: str, **init) -> torch.nn.Module:
    cfg = Config.fromfile(BACKBONE_CFG).model.backbone
    cfg.init_cfg = dict(type='Pretrained', checkpoint=checkpoint, **init)
    return MODELS.build(cfg)


def test_converted_checkpoint_matches_the_backbone_key_for_key(lite0_checkpoint):
    backbone = build_backbone(lite0_checkpoint)
    ckpt = torch.load(lite0_checkpoint, map_location='cpu', weights_only=True)
    own = backbone.state_dict()
    assert set(ckpt['state_dict']) == set(own), 'missing or unexpected keys'
    backbone.init_weights()
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(own[key], value), key


def _imagenet_top5(model: torch.nn.Module, image: np.ndarray) -> list:
    """Top-5 ImageNet classes of an RGB uint8 image, timm's evaluation transform for
    tf_efficientnet_lite0 (resize to 224 / 0.875, centre crop 224, [-1, 1] inputs)."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    h, w = x.shape[-2:]
    short = round(224 / 0.875)
    x = F.interpolate(x, size=(round(h * short / min(h, w)), round(w * short / min(h, w))),
                      mode='bicubic', align_corners=False)
    top, left = (x.shape[2] - 224) // 2, (x.shape[3] - 224) // 2
    x = (x[:, :, top:top + 224, left:left + 224] - 127.5) / 127.5
    with torch.no_grad():
        return model(x)[0].topk(5).indices.tolist()


# ImageNet class indices: 281-285 domestic cats; 967 espresso, 968 cup, 504 coffee mug;
# 657 missile, 744 projectile, 812 space shuttle.
@pytest.mark.parametrize('name, expected', [
    ('chelsea', {281, 282, 283, 284, 285}),
    ('coffee', {967, 968, 504}),
    ('rocket', {657, 744, 812}),
])
def test_converted_network_is_imagenet_trained(lite0_checkpoint, name, expected):
    timm = pytest.importorskip('timm')
    skimage_data = pytest.importorskip('skimage.data')
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False).eval()
    ckpt = torch.load(lite0_checkpoint, map_location='cpu', weights_only=True)
    state = {k[len('timm_model.'):]: v for k, v in ckpt['state_dict'].items()}
    missing, unexpected = model.load_state_dict({**state, **ckpt['classifier']}, strict=True)
    assert not missing and not unexpected
    top5 = _imagenet_top5(model, getattr(skimage_data, name)())
    assert expected & set(top5), f'{name}: top-5 {top5} has none of {sorted(expected)}'


def test_pretrained_init_with_wrong_prefix_is_an_error(lite0_checkpoint, tmp_path):
    """The trap users hit: keys without the backbone's `timm_model.` load nothing."""
    ckpt = torch.load(lite0_checkpoint, map_location='cpu', weights_only=True)
    bare = str(tmp_path / 'bare.pth')
    torch.save({'state_dict': {k[len('timm_model.'):]: v
                               for k, v in ckpt['state_dict'].items()}}, bare)
    with pytest.raises(KeyError, match=r'bare\.pth.*lacks \d+ of the \d+ weights'):
        build_backbone(bare).init_weights()


def test_pretrained_init_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        build_backbone(str(tmp_path / 'nowhere.pth')).init_weights()


def test_pretrained_init_still_allows_extra_keys(lite0_checkpoint, tmp_path):
    """A classification checkpoint (backbone + classifier) still loads into the backbone."""
    ckpt = torch.load(lite0_checkpoint, map_location='cpu', weights_only=True)
    extra = str(tmp_path / 'with_head.pth')
    torch.save({'state_dict': {**ckpt['state_dict'], 'fc.weight': torch.zeros(3, 3)}}, extra)
    backbone = build_backbone(extra)
    backbone.init_weights()
    key = 'timm_model.conv_stem.weight'
    assert torch.equal(backbone.state_dict()[key], ckpt['state_dict'][key])
