"""Bad input gets a clear error naming the file, never a crash deep inside torch or a silent
wrong result."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from gain_mmseg.apis import init_stage1_model, load_weights_strict, repair_last_checkpoint
from gain_mmseg.datasets.transforms import AddImageLevelLabels, CheckSegMap

from conftest import REPO, build_tiny

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
