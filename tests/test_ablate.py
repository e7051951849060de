"""tools/ablate.py: every row builds the model it claims, and the table pairs seeds with CAM."""
import argparse
import os.path as osp
import sys

import pytest
from mmengine.config import Config, DictAction
from mmseg.registry import MODELS

from conftest import REPO

sys.path.insert(0, osp.join(REPO, 'tools'))
import ablate  # noqa: E402


def built(name: str) -> tuple:
    """(config, model) of a row, its options parsed as tools/train.py parses them."""
    _, config, options = ablate.SETTINGS[name]
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('name', list(ablate.SETTINGS))
def test_each_setting_builds_what_it_names(name: str) -> None:
    cfg, model = built(name)
    loss = model.decode_head.loss_decode
    expected = {**ablate.DEFAULTS, **_changes_of(name)}
    assert loss.loss_weight_am == expected['alpha']
    assert loss.loss_weight_e == expected['omega_e']
    assert (loss.am_warmup_iters > 0) == expected['warmup']
    assert loss.am_score == expected['score']
    assert model.am_scoring_grad == expected['scoring_grad']
    assert model.am_freeze_bn == expected['freeze_bn']
    assert model.am_fill == expected['fill']
    assert model.am_mask_mode == expected['mask_mode']
    assert (model.am_sigma, model.am_omega) == (expected['sigma'], expected['omega'])
    assert model.decode_head.in_index == expected['level']
    assert cfg.custom_hooks[0].bg_threshold == ablate.BG
    pixel_labelled = cfg.train_dataloader.dataset.type == 'PixelSupervisionDataset'
    assert pixel_labelled == name.startswith('gain_ext')


def _changes_of(name: str) -> dict:
    """The option values a row's name and description promise."""
    return {
        'cam': dict(alpha=0.0),
        'literal': dict(scoring_grad=True, freeze_bn=False, warmup=False, fill='mean'),
        'default+mean_fill': dict(fill='mean'),
        'default+scoring_grad': dict(scoring_grad=True),
        'default+bn_update': dict(freeze_bn=False),
        'default-warmup': dict(warmup=False),
        'default+noise_fill': dict(fill='noise'),
        'default+union': dict(mask_mode='union'),
        'default+logit': dict(score='logit'),
        'default+softmax': dict(score='softmax'),
        'default+hard_mask': dict(omega=100.0),
        'default+stage3': dict(level=2),
        'gain_ext+omega_e10': dict(omega_e=10.0),
    }.get(name, {})


@pytest.mark.parametrize('name, config', [('default', ablate.CONFIG),
                                          ('gain_ext', ablate.EXT_CONFIG)])
def test_default_rows_are_the_shipped_configs(name: str, config: str) -> None:
    """The "default" and "gain_ext" rows must measure what users get from the demo configs."""
    shipped = MODELS.build(Config.fromfile(config).model)
    _, row = built(name)
    for attr in ('am_scoring_grad', 'am_freeze_bn', 'am_fill', 'am_mask_mode', 'am_sigma',
                 'am_omega'):
        assert getattr(row, attr) == getattr(shipped, attr), attr
    for attr in ('loss_weight_am', 'loss_weight_e', 'am_warmup_iters', 'am_ramp_iters',
                 'am_score'):
        assert getattr(row.decode_head.loss_decode, attr) == \
            getattr(shipped.decode_head.loss_decode, attr), attr
    assert row.decode_head.in_index == shipped.decode_head.in_index


def test_table_pairs_each_seed_with_cam() -> None:
    def run(pseudo_best: float) -> dict:
        return dict(attention=1.0, pseudo=pseudo_best, pseudo_best=pseudo_best,
                    best_threshold=0.5, loss_cl=0.3, loss_am=0.1, s_per_iter=0.1)

    runs = {'cam': [run(10.0), run(20.0)], 'default': [run(13.0), run(21.0)]}
    row = ablate.table(runs, [0, 1]).splitlines()[-1]
    # Paired differences are 3 and 1: mean 2, std 1 (unpaired means would give the same
    # mean but a spread of 5.5 from the CAM seeds).
    assert '| 2.0 ± 1.0 |' in row
