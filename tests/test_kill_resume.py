"""kill -9 mid-run, then the same command again (``--resume`` for training): stage 1,
stage 2 and the whole pipeline end exactly where an uninterrupted run ends. Each run is
killed when it has written a checkpoint and paused (tests/helpers/pause_hook.py): a
condition observed on disk, never a sleep."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

from conftest import REPO, tiny_demo_config

TESTS = osp.dirname(osp.abspath(__file__))
TRAIN = osp.join(REPO, 'tools', 'train.py')
PIPELINE = osp.join(REPO, 'tools', 'run_pipeline.py')


def _env() -> dict:
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(
        [TESTS, *filter(None, [os.environ.get('PYTHONPATH')])])}


def _pausing(marker, at_iter: int, hooks: str = '') -> str:
    """Config lines: checkpoint every ``at_iter`` iterations, pause once after ``at_iter``."""
    return f"""
custom_imports = dict(imports=['gain_mmseg', 'helpers.pause_hook'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(interval={at_iter}), logger=dict(interval=1))
custom_hooks = [{hooks} dict(type='PauseOnceHook', at_iter={at_iter}, marker={str(marker)!r})]
"""


def _run(cmd) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _run_killed(cmd, marker, timeout: float = 300) -> None:
    """Start ``cmd`` in its own process group; SIGKILL the group once ``marker`` exists."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + timeout
    try:
        while not osp.exists(marker):
            assert proc.poll() is None, 'finished before pausing: ' + proc.stderr.read().decode()
            assert time.time() < deadline, f'{marker} did not appear in {timeout} s'
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()


def _weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def _assert_same_weights(path_a: str, path_b: str) -> None:
    a, b = _weights(path_a), _weights(path_b)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs after the resume'


def _straight_and_killed(cfg: str, tmp_path, marker, options=()):
    """Train ``cfg`` uninterrupted (marker present: no pause) and killed + resumed; return
    both work dirs."""
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    opts = ['--cfg-options', *options] if options else []
    marker.write_text('uninterrupted run')
    _run([sys.executable, TRAIN, cfg, '--work-dir', straight, *opts])
    marker.unlink()
    _run_killed([sys.executable, TRAIN, cfg, '--work-dir', killed, *opts], marker)
    assert osp.exists(osp.join(killed, 'iter_2.pth'))
    assert not osp.exists(osp.join(killed, 'iter_4.pth')), 'the run was not killed mid-way'
    _run([sys.executable, TRAIN, cfg, '--work-dir', killed, '--resume', *opts])
    return straight, killed


def test_stage1_resumed_after_kill_equals_uninterrupted(demo_root, tmp_path):
    marker = tmp_path / 'paused'
    # Half-schedule warm-up: L_am switches on exactly at the kill, so the resume must restore
    # the schedule as well as the weights.
    cfg = tiny_demo_config(str(tmp_path / 's1.py'), demo_root, max_iters=4,
                           extra=_pausing(marker, 2, "dict(type='GAINScheduleHook'),"))
    straight, killed = _straight_and_killed(cfg, tmp_path, marker)
    _assert_same_weights(osp.join(straight, 'iter_4.pth'), osp.join(killed, 'iter_4.pth'))


def test_stage2_resumed_after_kill_equals_uninterrupted(demo_root, tmp_path):
    marker = tmp_path / 'paused'
    cfg = tiny_demo_config(str(tmp_path / 's2.py'), demo_root, max_iters=4,
                           base='gain/demo/deeplabv3_r18-tiny_demo.py', size=112,
                           extra=_pausing(marker, 2))
    # Ground-truth masks stand in for stage 1's pseudo masks: what is tested is the resume.
    straight, killed = _straight_and_killed(
        cfg, tmp_path, marker, [f'pseudo_mask_root={demo_root}/SegmentationClass'])
    _assert_same_weights(osp.join(straight, 'iter_4.pth'), osp.join(killed, 'iter_4.pth'))


def test_pipeline_killed_in_stage1_reruns_to_the_same_masks(demo_root, tmp_path):
    marker = tmp_path / 'paused'
    hooks = "dict(type='GAINScheduleHook'), dict(type='CAMPseudoLabelHook'),"
    cfg = tiny_demo_config(str(tmp_path / 's1.py'), demo_root, max_iters=4,
                           extra=_pausing(marker, 2, hooks))
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')

    def pipeline(work: str) -> list:
        return [sys.executable, PIPELINE, cfg, '--work-dir', work, '--skip-stage2']

    marker.write_text('uninterrupted run')
    _run(pipeline(straight))
    marker.unlink()
    _run_killed(pipeline(killed), marker)
    assert not osp.exists(osp.join(killed, 'stage1', 'iter_4.pth'))
    _run(pipeline(killed))
    _assert_same_weights(osp.join(straight, 'stage1', 'iter_4.pth'),
                         osp.join(killed, 'stage1', 'iter_4.pth'))
    with open(osp.join(straight, 'stage1_val.json')) as f, \
            open(osp.join(killed, 'stage1_val.json')) as g:
        assert json.load(f)['mIoU'] == json.load(g)['mIoU']
    masks = osp.join('stage1', 'pseudo_masks')
    names = sorted(n for n in os.listdir(osp.join(straight, masks)) if n.endswith('.png'))
    assert len(names) == 16 and names == sorted(
        n for n in os.listdir(osp.join(killed, masks)) if n.endswith('.png'))
    for name in names:
        np.testing.assert_array_equal(
            np.array(Image.open(osp.join(straight, masks, name))),
            np.array(Image.open(osp.join(killed, masks, name))))
