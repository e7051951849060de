"""The photograph configs on real COCO photographs (../shared/data/coco_voc_dev): every stream
of GAIN and GAIN_ext runs on them from ImageNet weights."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS, MODELS

from gain_mmseg.datasets import set_data_root

from conftest import DEV_SET, REPO, needs_dev_set

pytestmark = needs_dev_set
CONFIGS = osp.join(REPO, 'configs', 'gain')
SUFFIX = '_effnet-lite0_1xb8-200it_voc-layout-256x256.py'


def photo_config(method: str, checkpoint: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIGS, method + SUFFIX))
    set_data_root(cfg, DEV_SET)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    return cfg


@pytest.mark.parametrize('method', ['cam', 'gain', 'gain-ext'])
def test_one_training_step_on_real_photos(method, lite0_checkpoint):
    cfg = photo_config(method, lite0_checkpoint)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 135
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    # Two photographs; under GAIN_ext one of them pixel-labelled.
    pixel = [i for i in range(len(dataset))
             if dataset[i]['data_samples'].metainfo.get('pixel_supervised')]
    picks = [pixel[0], next(i for i in range(len(dataset)) if i not in pixel)] if pixel \
        else [0, 1]
    data = model.data_preprocessor(pseudo_collate([dataset[i] for i in picks]), True)
    assert tuple(data['inputs'].shape[-2:]) == tuple(cfg.crop_size)
    model.set_train_progress(cfg.train_cfg.max_iters - 1, cfg.train_cfg.max_iters)
    losses = model.loss(data['inputs'], data['data_samples'])
    expected = {'cam': {'loss_cl'}, 'gain': {'loss_cl', 'loss_am'},
                'gain-ext': {'loss_cl', 'loss_am', 'loss_e'}}[method]
    assert expected <= set(losses) and not ({'loss_am', 'loss_e'} - expected) & set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert torch.isfinite(total)
    total.backward()
    stem = model.backbone.timm_model.conv_stem.weight.grad
    assert stem is not None and float(stem.abs().sum()) > 0
