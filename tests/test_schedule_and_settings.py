"""The iteration reaches α through GAINScheduleHook; one home for the pseudo-mask settings;
one --data-root for every dataset of a config."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from gain_mmseg.datasets import set_data_root
from gain_mmseg.pseudo_masks import PSEUDO_MASK_DEFAULTS, PseudoMaskGenerator, pseudo_mask_settings

from conftest import REPO, build_tiny, tiny_demo_config


def test_loss_am_appears_exactly_after_the_warmup_in_a_runner(demo_root, tmp_path):
    extra = """
model = dict(decode_head=dict(loss_decode=dict(
    am_warmup_iters=0, am_ramp_iters=0, am_warmup_ratio=0.5, am_ramp_ratio=None)))
custom_hooks = [dict(type='GAINScheduleHook')]
"""
    cfg = Config.fromfile(tiny_demo_config(str(tmp_path / 'c.py'), demo_root, max_iters=6,
                                           extra=extra))
    cfg.work_dir = str(tmp_path / 'w')
    cfg.visualizer.name = f'visualizer_{tmp_path.name}'  # a fresh one, saving under work_dir
    Runner.from_cfg(cfg).train()
    log, = glob.glob(osp.join(cfg.work_dir, '*', 'vis_data', 'scalars.json'))
    with open(log, encoding='utf-8') as f:
        entries = [e for e in map(json.loads, f) if 'loss_cl' in e]
    assert [e['iter'] for e in entries] == [1, 2, 3, 4, 5, 6]
    # Iterations 1-3 (0-based 0-2) are the warm-up of half the 6-iteration schedule.
    assert ['loss_am' in e for e in entries] == [False] * 3 + [True] * 3


def test_settings_come_from_the_config_and_flags_override_only_when_given():
    cfg = Config(dict(pseudo_mask=dict(scales=[1.0, 2.0], bg_threshold=0.4, ref_size=64)))
    settings = pseudo_mask_settings(cfg, bg_threshold=None, flip=False)
    assert settings == {**PSEUDO_MASK_DEFAULTS, 'scales': (1.0, 2.0), 'bg_threshold': 0.4,
                        'ref_size': 64, 'flip': False}
    assert pseudo_mask_settings(Config(dict())) == PSEUDO_MASK_DEFAULTS
    with pytest.raises(KeyError, match='scale_list'):
        pseudo_mask_settings(Config(dict(pseudo_mask=dict(scale_list=[1]))))


def test_gen_tool_uses_the_config_settings(demo_root, tmp_path):
    """A config asking for an extreme background threshold must get it from the tool too."""
    extra = "pseudo_mask = dict(scales=(1.0, ), flip=False, bg_threshold=1.5)\n"
    config = tiny_demo_config(str(tmp_path / 'c.py'), demo_root, max_iters=1, extra=extra)
    work = str(tmp_path / 'w')
    subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir',
                    work], check=True, capture_output=True)
    out, js = str(tmp_path / 'masks'), str(tmp_path / 'm.json')
    subprocess.run([sys.executable, osp.join(REPO, 'tools/gen_pseudo_labels.py'), config,
                    osp.join(work, 'iter_1.pth'), '--out', out, '--eval', '--json', js],
                   check=True, capture_output=True)
    with open(js, encoding='utf-8') as f:
        results = json.load(f)
    # Above every normalised attention value: every pixel is background.
    assert results['settings']['bg_threshold'] == 1.5
    assert results['settings']['scales'] == [1.0] and results['settings']['flip'] is False
    # (NaN: a class neither predicted nor present.)
    assert all(not v > 0 for k, v in results['per_class_IoU'].items() if k != 'background')


def test_ref_size_sets_what_scale_one_means():
    torch.manual_seed(0)
    model = build_tiny().eval()
    images = torch.randn(1, 3, 64, 48)
    labels = torch.tensor([[True, False, True]])
    plain = PseudoMaskGenerator(model, scales=(1.0, ), flip=False)
    same = PseudoMaskGenerator(model, scales=(1.0, ), flip=False, ref_size=64)
    torch.testing.assert_close(same.fused_attention(images, labels)[2],
                               plain.fused_attention(images, labels)[2])
    # ref_size 32 at scale 1 is the stored image at scale 0.5.
    half = PseudoMaskGenerator(model, scales=(1.0, ), flip=False, ref_size=32)
    small = PseudoMaskGenerator(model, scales=(0.5, ), flip=False)
    torch.testing.assert_close(half.fused_attention(images, labels)[2],
                               small.fused_attention(images, labels)[2])
    assert half.fused_attention(images, labels)[2].shape[-2:] == (64, 48)


def test_data_root_reaches_every_dataset(tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/gain/'
                                   'gain-ext_effnet-lite0_1xb8-200it_voc-layout-256x256.py'))
    set_data_root(cfg, str(tmp_path))
    assert cfg.train_dataloader.dataset.dataset.data_root == str(tmp_path)
    assert cfg.val_dataloader.dataset.data_root == str(tmp_path)
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        set_data_root(cfg, str(tmp_path / 'nowhere'))
