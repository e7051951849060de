"""Bad input gets a clear error naming the file, never a crash deep inside torch or a silent
wrong result."""
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import MODELS, TRANSFORMS
from PIL import Image

from gain_mmseg.apis import init_stage1_model, load_weights_strict, repair_last_checkpoint
from gain_mmseg.datasets import check_data_config
from gain_mmseg.datasets.transforms import AddImageLevelLabels, CheckSegMap

from conftest import REPO, build_tiny, tiny_demo_config

STAGE1 = osp.join(REPO, 'configs/gain/demo/gain_r18-tiny_demo.py')
STAGE2 = osp.join(REPO, 'configs/gain/demo/deeplabv3_r18-tiny_demo.py')


def _state_of(config: str) -> dict:
    return MODELS.build(Config.fromfile(config).model).state_dict()


def test_a_stage2_checkpoint_is_refused_for_pseudo_masks(tmp_path):
    path = str(tmp_path / 'stage2.pth')
    torch.save({'state_dict': _state_of(STAGE2)}, path)
    with pytest.raises(ValueError, match=r'stage2\.pth.*not fit.*unexpected.*another shape'):
        init_stage1_model(Config.fromfile(STAGE1), path)


def test_the_right_checkpoint_loads_every_weight(tmp_path):
    state = _state_of(STAGE1)
    path = str(tmp_path / 'stage1.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = init_stage1_model(Config.fromfile(STAGE1), path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('content, message', [
    (b'this is a text file\n', 'not a readable PyTorch checkpoint'),
    (None, 'holds no state dict'),
    (b'', 'not a readable PyTorch checkpoint'),
])
def test_foreign_files_named_pth_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / 'model.pth'
    if content is None:
        torch.save({'meta': {'epoch': 3}}, str(path))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=rf'model\.pth.*{message}'):
        load_weights_strict(build_tiny(), str(path))


def test_a_config_without_attention_head_is_refused(tmp_path):
    with pytest.raises(ValueError, match='no AttentionMiningHead'):
        init_stage1_model(Config.fromfile(STAGE2), str(tmp_path / 'x.pth'))


def test_truncated_checkpoint_is_set_aside_and_resume_goes_back_one(tmp_path):
    good, cut = tmp_path / 'iter_2.pth', tmp_path / 'iter_4.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, str(good))
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(cut))
    cut.write_bytes(cut.read_bytes()[:200])  # a write killed half-way
    (tmp_path / 'last_checkpoint').write_text(str(cut))
    assert repair_last_checkpoint(str(tmp_path)) == str(good)
    assert (tmp_path / 'last_checkpoint').read_text() == str(good)
    assert not cut.exists() and (tmp_path / 'iter_4.pth.corrupt').exists()


def _results(mask: np.ndarray, size=(8, 8)) -> dict:
    return dict(gt_seg_map=mask, img=np.zeros(size + (3, ), np.uint8),
                seg_map_path='/data/masks/a.png', img_path='/data/img/a.jpg')


@pytest.mark.parametrize('transform', [CheckSegMap(num_classes=4),
                                       AddImageLevelLabels(num_classes=4)])
def test_masks_are_checked_as_they_are_read(transform):
    ok = np.zeros((8, 8), np.uint8)
    ok[0, 0], ok[1, 1] = 3, 255
    transform(_results(ok))
    bad = ok.copy()
    bad[2, 2] = 7
    with pytest.raises(ValueError, match=r"a\.png.*values \[7\]"):
        transform(_results(bad))
    with pytest.raises(ValueError, match=r'a\.png.* is 8x8 px but its image .* is 9x8'):
        transform(_results(ok, size=(8, 9)))


@pytest.mark.parametrize('content, problem', [
    (b'', 'empty file'),
    (b'not an image at all', 'cannot be decoded'),
    (None, 'does not exist'),
])
@pytest.mark.parametrize('loader, key, what', [
    ('LoadImageFromFile', 'img_path', 'image'),
    ('LoadAnnotations', 'seg_map_path', 'mask'),
])
def test_unreadable_files_are_named(tmp_path, content, problem, loader, key, what):
    init_default_scope('mmseg')
    path = tmp_path / 'broken.png'
    if content is not None:
        path.write_bytes(content)
    results = dict(img_path=str(path), seg_map_path=str(path), reduce_zero_label=False,
                   seg_fields=[])
    with pytest.raises((ValueError, FileNotFoundError), match=rf'{what} .*broken\.png.*{problem}'):
        TRANSFORMS.build(dict(type=loader))(results)


def test_good_files_load_as_with_the_stock_transforms(tmp_path):
    init_default_scope('mmseg')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (9, 7, 3), dtype=np.uint8)).save(tmp_path / 'i.png')
    Image.fromarray(rng.integers(0, 4, (9, 7), dtype=np.uint8)).save(tmp_path / 'm.png')
    results = dict(img_path=str(tmp_path / 'i.png'), seg_map_path=str(tmp_path / 'm.png'),
                   reduce_zero_label=False, seg_fields=[])
    for name, stock, key in (('LoadImageFromFile', LoadImageFromFile(), 'img'),
                             ('LoadAnnotations', LoadAnnotations(), 'gt_seg_map')):
        ours = TRANSFORMS.build(dict(type=name))
        assert type(ours) is not type(stock)
        np.testing.assert_array_equal(ours(dict(results))[key], stock(dict(results))[key])


def _copy_demo(demo_root, tmp_path) -> str:
    root = str(tmp_path / 'demo')
    shutil.copytree(demo_root, root)
    return root


def _train_fails(cfg_path: str, tmp_path) -> str:
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), cfg_path,
                           '--work-dir', str(tmp_path / 'work')], capture_output=True, text=True)
    assert proc.returncode != 0
    return proc.stderr.strip().splitlines()[-1]  # the error line a user reads


def test_a_zero_byte_image_stops_training_with_its_name(demo_root, tmp_path):
    root = _copy_demo(demo_root, tmp_path)
    stems = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read().split()
    broken = osp.join(root, 'JPEGImages', stems[0] + '.jpg')
    assert osp.exists(broken)
    open(broken, 'wb').close()
    last = _train_fails(tiny_demo_config(str(tmp_path / 'c.py'), root), tmp_path)
    assert f"image '{broken}' is an empty file" in last


@pytest.mark.parametrize('fault, message', [
    ('empty_split', r"split file '.*train\.txt' lists no images"),
    ('no_data_root', r"data_root '.*nowhere' is not a folder"),
    ('num_classes', r'decode_head\.num_classes is 5 but .*has 11 classes'),
])
def test_a_broken_data_config_is_refused_before_training(demo_root, tmp_path, fault, message):
    root = _copy_demo(demo_root, tmp_path)
    extra = ''
    if fault == 'empty_split':
        open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'w').write('\n')
    elif fault == 'no_data_root':
        root = str(tmp_path / 'nowhere')
    else:
        extra = 'model = dict(decode_head=dict(num_classes=5))'
    cfg_path = tiny_demo_config(str(tmp_path / 'c.py'), root, extra=extra)
    with pytest.raises((ValueError, FileNotFoundError), match=rf'c\.py: .*{message}'):
        check_data_config(Config.fromfile(cfg_path))
    # The tools run the same check first: the user reads it as the last line.
    assert re.search(message, _train_fails(cfg_path, tmp_path))


def test_a_good_data_config_passes_the_checks(demo_root, tmp_path):
    check_data_config(Config.fromfile(tiny_demo_config(str(tmp_path / 'c.py'), demo_root)))
