"""Distributed runs on CPU through mmengine (gloo, tools/dist_train.sh, tools/dist_test.sh):
the same training as one process with the same total batch, every mask written once and the
same evaluation as one process."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, tiny_demo_config

# GroupNorm instead of BatchNorm: normalisation per image, so that two processes of 4 images
# see exactly what one process of 8 sees (BatchNorm would pool each process's 4 alone).
GN = "dict(type='GN', num_groups=4, requires_grad=True)"


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _config(tmp_path, demo_root, num_convs: int, model_extra: str = '') -> str:
    extra = f"""
model = dict({model_extra}
    backbone=dict(norm_cfg={GN}),
    decode_head=dict(num_convs={num_convs}, norm_cfg={GN},
                     loss_decode=dict(am_warmup_ratio=None, am_ramp_ratio=None)))
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(data_root=data_root))
custom_hooks = []
# SGD: Adam's first steps are nearly sign(gradient), which turns float noise in a near-zero
# gradient into a full step either way.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(_delete_=True, type='SGD', lr=0.05))
"""
    return tiny_demo_config(str(tmp_path / f'c{num_convs}.py'), demo_root, max_iters=2,
                            extra=extra)


def _run(cmd, **env) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, 'OMP_NUM_THREADS': '1', **env})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _train_one_and_two(config: str, tmp_path) -> tuple:
    """Train ``config`` in one process (batch 8) and in two (4 each); their work dirs."""
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', one])
    log = _run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', two,
                '--cfg-options', 'train_dataloader.batch_size=4'],
               PYTHON=sys.executable, PORT=_free_port())
    assert 'Distributed training: True' in log
    return one, two


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    # Tolerance: L_am is a mean over (image, class) pairs, which each process takes over its
    # own images and DDP then averages; with unequal pair counts per process that weighting
    # differs slightly from one mean over all pairs. Everything else is the same sum.
    for key in a:
        if a[key].is_floating_point():
            torch.testing.assert_close(b[key], a[key], atol=2e-4, rtol=1e-3, msg=key)


def _weights(work: str) -> dict:
    return torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu',
                      weights_only=True)['state_dict']


@pytest.mark.parametrize('num_convs', [0, 1], ids=['cam_head', 'gradcam_head'])
def test_two_cpu_processes_train_as_one_with_the_same_total_batch(demo_root, tmp_path,
                                                                  num_convs):
    config = _config(tmp_path, demo_root, num_convs)
    one, two = _train_one_and_two(config, tmp_path)
    a, b = _weights(one), _weights(two)
    _assert_same_weights(a, b)
    # Not a tolerance that anything passes: one process on half the batch (what an
    # unsynchronised rank would train) ends far outside it.
    half = str(tmp_path / 'half')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', half,
          '--cfg-options', 'train_dataloader.batch_size=4'])
    c = _weights(half)

    def largest(x: dict) -> float:
        return max(float((x[k] - a[k]).abs().max()) for k in a if a[k].is_floating_point())

    assert largest(c) > 10 * largest(b)


def test_distributed_generation_writes_each_mask_once_and_evaluates_as_one(demo_root,
                                                                           tmp_path):
    config = _config(tmp_path, demo_root, 0)
    work = str(tmp_path / 'w')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', work])
    ckpt = osp.join(work, 'iter_2.pth')
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    _run([sys.executable, 'tools/gen_pseudo_labels.py', config, ckpt, '--out', one, '--eval',
          '--json', one + '.json'])
    _run(['bash', 'tools/dist_gen_pseudo_labels.sh', config, ckpt, '2', '--out', two,
          '--eval', '--json', two + '.json'], PYTHON=sys.executable, PORT=_free_port())
    names = sorted(os.listdir(one))
    assert len(names) == 17 and sorted(os.listdir(two)) == names  # no leftovers either
    for name in (n for n in names if n.endswith('.png')):
        np.testing.assert_array_equal(np.array(Image.open(osp.join(one, name))),
                                      np.array(Image.open(osp.join(two, name))))
    with open(one + '.json') as f, open(two + '.json') as g:
        single, dist = json.load(f), json.load(g)
    assert dist['num_images'] == single['num_images'] == 16
    assert dist['mIoU'] == pytest.approx(single['mIoU'], abs=1e-9)
    assert dist['sweep_mIoU'] == pytest.approx(single['sweep_mIoU'], abs=1e-9)


def test_distributed_test_equals_one_process(demo_root, tmp_path):
    config = _config(tmp_path, demo_root, 0)
    work = str(tmp_path / 'w')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', work])
    ckpt = osp.join(work, 'iter_2.pth')
    one, two = str(tmp_path / 'one.json'), str(tmp_path / 'two.json')
    _run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', str(tmp_path / 't1'),
          '--metrics-json', one])
    _run(['bash', 'tools/dist_test.sh', config, ckpt, '2', '--work-dir', str(tmp_path / 't2'),
          '--metrics-json', two], PYTHON=sys.executable, PORT=_free_port())
    with open(one) as f, open(two) as g:
        single, dist = json.load(f), json.load(g)
    assert dist['mIoU'] == pytest.approx(single['mIoU'], abs=1e-6)


def test_distributed_attention_accumulation_fuses_every_image_once(demo_root, tmp_path):
    """OAA under torchrun: each rank accumulates its share, every image once, the maps
    those of one process (up to the training's float differences)."""
    config = str(tmp_path / 'oaa.py')
    with open(config, 'w', encoding='utf-8') as f:
        f.write(f"_base_ = [{_config(tmp_path, demo_root, 0)!r}]\n"
                "custom_hooks = [dict(type='CAMPseudoLabelHook', accumulate_ratios=[0.5])]\n")
    one, two = _train_one_and_two(config, tmp_path)
    names = sorted(os.listdir(osp.join(one, 'attention_accumulated')))
    assert names == sorted(f'train_{i:05d}.npz' for i in range(16))
    assert sorted(os.listdir(osp.join(two, 'attention_accumulated'))) == names
    for name in names:
        with np.load(osp.join(one, 'attention_accumulated', name)) as a, \
                np.load(osp.join(two, 'attention_accumulated', name)) as b:
            np.testing.assert_array_equal(a['classes'], b['classes'])
            np.testing.assert_allclose(a['maps'].astype(np.float32),
                                       b['maps'].astype(np.float32), atol=2e-2)
    masks = sorted(os.listdir(osp.join(two, 'pseudo_masks')))
    assert len([n for n in masks if n.endswith('.png')]) == 16


def test_l_am_on_named_parameters_trains_as_one_across_processes(demo_root, tmp_path):
    """``am_grad_to`` prefixes take L_am's gradient by a backward pass inside the forward:
    two processes still train as one, and the weights L_am may not train differ from those
    of a run where it may."""
    named = "['decode_head', 'backbone.layer4']"
    config = _config(tmp_path, demo_root, 0, model_extra=f'am_grad_to={named},')
    one, two = _train_one_and_two(config, tmp_path)
    a = _weights(one)
    _assert_same_weights(a, _weights(two))
    every = str(tmp_path / 'all')
    _run([sys.executable, 'tools/train.py', config, '--work-dir', every,
          '--cfg-options', "model.am_grad_to='all'"])
    c = _weights(every)
    stem = [k for k in a if k.startswith('backbone.stem') and a[k].is_floating_point()]
    # The stem is not named: without L_am's share of its update it ends elsewhere.
    assert stem and max(float((a[k] - c[k]).abs().max()) for k in stem) > 1e-6
