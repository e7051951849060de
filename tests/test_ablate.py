"""tools/ablate.py: every row changes the config in the named way only, on any stage-1 config,
and the table pairs seeds with CAM."""
import argparse
import functools
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

from gain_mmseg.pipeline import config_with_options

from conftest import REPO, tiny_demo_config

sys.path.insert(0, osp.join(REPO, 'tools'))
import ablate  # noqa: E402

DEMO = osp.join(REPO, 'configs/gain/demo/gain_r18-tiny_demo.py')
DEMO_EXT = osp.join(REPO, 'configs/gain/demo/gain-ext_r18-tiny_demo.py')
PHOTOS = osp.join(REPO, 'configs/gain/gain_effnet-lite0_1xb8-200it_voc-layout-256x256.py')
PHOTOS_EXT = osp.join(REPO,
                      'configs/gain/gain-ext_effnet-lite0_1xb8-200it_voc-layout-256x256.py')
MODEL_ATTRS = ('am_scoring_grad', 'am_freeze_bn', 'am_fill', 'am_fill_kernel', 'am_mask_mode',
               'am_sigma', 'am_omega', 'am_grad_to', 'am_erase', 'am_bg_zone')
LOSS_ATTRS = ('loss_weight_am', 'loss_weight_e', 'am_score', 'am_area_weight', 'am_area_prior',
              'am_warmup_iters', 'am_ramp_iters', 'am_warmup_ratio', 'am_ramp_ratio')


def built(name: str, base: str, ext: str, under: tuple = ()) -> tuple:
    """(config, model) of a row (on the config changed by the options ``under``), its options
    parsed as tools/train.py parses them."""
    config = ext if ablate.SETTINGS[name][1] == 'ext' else base
    cfg = config_with_options(config, ablate.row_options(name, config, under))
    cfg.model.backbone.pop('init_cfg', None)
    return cfg, MODELS.build(cfg.model)


@functools.lru_cache(maxsize=None)
def _shipped(name: str, base: str, ext: str) -> tuple:
    cfg, model = built(name, base, ext)
    return cfg, settings_of(model)


def shipped_settings(name: str, base: str, ext: str) -> tuple:
    """(config, settings) of the shipped row ``name`` (built once per module; a copy)."""
    cfg, settings = _shipped(name, base, ext)
    return cfg, dict(settings)


def settings_of(model) -> dict:
    loss = model.decode_head.loss_decode
    return {**{a: getattr(model, a) for a in MODEL_ATTRS},
            **{a: getattr(loss, a) for a in LOSS_ATTRS},
            'in_index': model.decode_head.in_index}


def learning_rates(model, cfg: Config) -> dict:
    """The learning rate the optimiser of ``cfg`` gives the first parameter of the model's
    backbone and of its head."""
    groups = build_optim_wrapper(model, cfg.optim_wrapper).optimizer.param_groups
    return {part: [g['lr'] for g in groups
                   if any(p is next(getattr(model, part).parameters()) for p in g['params'])][0]
            for part in ('backbone', 'decode_head')}


# What each row's name and description promise to change; everything else stays.
CHANGES = {
    'cam': dict(loss_weight_am=0.0),
    'literal': dict(am_scoring_grad=True, am_freeze_bn=False, am_fill='mean',
                    am_warmup_iters=0, am_ramp_iters=0, am_warmup_ratio=None,
                    am_ramp_ratio=None),
    'default+mean_fill': dict(am_fill='mean'),
    'default+scoring_grad': dict(am_scoring_grad=True),
    'default+bn_update': dict(am_freeze_bn=False),
    'default-warmup': dict(am_warmup_iters=0, am_ramp_iters=0, am_warmup_ratio=None,
                           am_ramp_ratio=None),
    'default+noise_fill': dict(am_fill='noise'),
    'default+union': dict(am_mask_mode='union'),
    'default+logit': dict(am_score='logit'),
    'default+softmax': dict(am_score='softmax'),
    'default+hard_mask': dict(am_omega=100.0),
    'default+alpha0.1': dict(loss_weight_am=0.1),
    'default+alpha0.2': dict(loss_weight_am=0.2),
    'default+alpha0.3': dict(loss_weight_am=0.3),
    'default+alpha0.5': dict(loss_weight_am=0.5),
    'default+alpha1': dict(loss_weight_am=1.0),
    'default+alpha3': dict(loss_weight_am=3.0),
    'default+sigma0.15': dict(am_sigma=0.15),
    'default+sigma0.25': dict(am_sigma=0.25),
    'default+sigma0.5': dict(am_sigma=0.5),
    'default+sigma0.75': dict(am_sigma=0.75),
    'default+head_only': dict(am_grad_to='head'),
    'default+last_stage': dict(am_grad_to=('decode_head', 'backbone.timm_model.blocks.6')),
    'default-area': dict(am_area_weight=0.0),
    'default+area0.5': dict(am_area_prior='linear', am_area_weight=0.5),
    'default+area2': dict(am_area_prior='linear', am_area_weight=2.0),
    'default+area5': dict(am_area_prior='linear', am_area_weight=5.0),
    'default+blur_fill': dict(am_fill='blur'),
    'default+blur_fill-area': dict(am_fill='blur', am_area_weight=0.0),
    'default+blur_fill+area0.5': dict(am_fill='blur', am_area_prior='linear', am_area_weight=0.5),
    'default+blur_fill+area2': dict(am_fill='blur', am_area_prior='linear', am_area_weight=2.0),
    'default+blur_fill-area+head_only': dict(am_fill='blur', am_area_weight=0.0,
                                             am_grad_to='head'),
    'cam+os8': dict(loss_weight_am=0.0),
    'cam+oaa': dict(loss_weight_am=0.0),
    'cam+size320': dict(loss_weight_am=0.0),
    'cam+iters2x': dict(loss_weight_am=0.0),
    'cam+backbone_lr10x': dict(loss_weight_am=0.0),
    'cam+backbone_lr0.1x': dict(loss_weight_am=0.0),
    'default+area10': dict(am_area_prior='linear', am_area_weight=10.0),
    'default+log_area1.5': dict(am_area_prior='log', am_area_weight=1.5),
    'default+log_area3': dict(am_area_prior='log', am_area_weight=3.0),
    'gain_ext+gated_area': dict(am_area_prior='gated', am_area_weight=5.0),
    'default+gated_area': dict(am_area_prior='gated', am_area_weight=5.0),
    'default+area_only': dict(am_score='none', am_area_prior='linear', am_area_weight=5.0),
    'default+sigma0.1': dict(am_sigma=0.1),
    'default+omega5': dict(am_omega=5.0),
    'default+omega3': dict(am_omega=3.0),
    'default+feature_erase': dict(am_erase='feature'),
    'default+bg_zone0.25': dict(am_bg_zone=0.25),
    'default+warmup0.25': dict(am_warmup_iters=0, am_ramp_iters=0, am_warmup_ratio=0.25,
                               am_ramp_ratio=0.1),
    'default+warmup0.75': dict(am_warmup_iters=0, am_ramp_iters=0, am_warmup_ratio=0.75,
                               am_ramp_ratio=0.1),
    'gain_ext+omega_e10': dict(loss_weight_e=10.0),
    'gain_ext+omega_e0.1': dict(loss_weight_e=0.1),
    'gain_ext+omega_e3': dict(loss_weight_e=3.0),
    'gain_ext+omega_e1': dict(loss_weight_e=1.0),
    'gain_ext+omega_e0.3': dict(loss_weight_e=0.3),
}


@pytest.mark.parametrize('base, ext', [(DEMO, DEMO_EXT), (PHOTOS, PHOTOS_EXT)],
                         ids=['demo', 'photos'])
@pytest.mark.parametrize('name', list(ablate.SETTINGS))
def test_each_row_changes_only_what_it_names(name, base, ext):
    if name.endswith('os8') and base == DEMO:  # mmseg's ResNet has no output_stride field
        with pytest.raises(KeyError, match='output_stride'):
            built(name, base, ext)
        return
    if name.endswith('size320') and base == DEMO:  # the demo config has no train_size
        with pytest.raises(KeyError, match='train_size'):
            built(name, base, ext)
        return
    if name.endswith('last_stage') and base == DEMO:  # the demo config names no last stage
        with pytest.raises(KeyError, match='last_stage'):
            built(name, base, ext)
        return
    if '+backbone_lr' in name and base == DEMO:  # one learning rate for all
        with pytest.raises(KeyError, match='lr_mult'):
            built(name, base, ext)
        return
    cfg, model = built(name, base, ext)
    shipped_cfg, expected = shipped_settings(
        'gain_ext' if ablate.SETTINGS[name][1] == 'ext' else 'default', base, ext)
    got = settings_of(model)
    if name.endswith('os8'):  # the attention's features really are at 1/8 (not 1/16)
        with torch.no_grad():
            assert model.backbone(torch.zeros(1, 3, 64, 64))[-1].shape[-1] == 64 // 8
    if name.endswith('size320'):  # trained, validated and labelled at 320 px
        sizes = {t.type: t.get('scale', t.get('crop_size'))
                 for t in cfg.train_dataloader.dataset.pipeline if t.type.startswith('Random')}
        assert sizes['RandomResize'] == sizes['RandomCrop'] == (320, 320)
        assert [t.scale for t in cfg.val_dataloader.dataset.pipeline
                if t.type == 'Resize'] == [(320, 320)]
        assert tuple(model.data_preprocessor.size) == (320, 320)
        assert cfg.pseudo_mask.ref_size == 320
    if name.endswith('iters2x'):  # every count of the schedule doubled, the warm-up too
        iters = 2 * shipped_cfg.train_cfg.max_iters
        assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == iters
        assert [s.end for s in cfg.param_scheduler] == [iters]
        assert cfg.default_hooks.checkpoint.interval == iters
        if not name.startswith('cam'):
            loss = model.decode_head.loss_decode
            assert loss.schedule(iters) == tuple(2 * n for n in loss.schedule(iters // 2))
    else:
        assert cfg.train_cfg.max_iters == shipped_cfg.train_cfg.max_iters
    if '+backbone_lr' in name:  # the optimiser's backbone groups, and only they
        factor = float(name.rsplit('backbone_lr', 1)[1].rstrip('x'))
        assert learning_rates(model, cfg) == pytest.approx({
            part: lr * (factor if part == 'backbone' else 1)
            for part, lr in learning_rates(model, shipped_cfg).items()})
    if name == 'default+prev_level':
        assert got.pop('in_index') == shipped_cfg.model.decode_head.in_index % len(
            cfg.backbone_channels) - 1
        expected.pop('in_index')
    else:
        expected.update(CHANGES.get(name, {}))
    assert got == expected
    # The OAA rows, and only they, make the pseudo-mask hook accumulate attention.
    ratios = [h.get('accumulate_ratios') for h in cfg.custom_hooks
              if h.type == 'CAMPseudoLabelHook']
    assert ratios == [list(ablate.OAA_RATIOS) if name.endswith('oaa') else None]
    pixel_labelled = cfg.train_dataloader.dataset.type == 'PixelSupervisionDataset'
    assert pixel_labelled == name.startswith('gain_ext')


@pytest.mark.parametrize('base, ext', [(DEMO, DEMO_EXT), (PHOTOS, PHOTOS_EXT)],
                         ids=['demo', 'photos'])
def test_default_rows_are_the_shipped_configs(base, ext):
    """The rows every other row is paired with measure what users get from the configs."""
    for name, config in (('default', base), ('gain_ext', ext)):
        cfg = Config.fromfile(config)
        cfg.model.backbone.pop('init_cfg', None)
        shipped = settings_of(MODELS.build(cfg.model))
        assert settings_of(built(name, base, ext)[1]) == shipped, name


@pytest.mark.parametrize('config', [
    'gain-ext_effnet-lite0_1xb8-200it_voc-layout-256x256.py', 'gain_r50-d8_voc12aug.py',
    'gain_mmpretrain-r50_voc12aug.py', 'gain-ext_r50-d8_voc12aug-200px.py'])
def test_every_gain_config_ships_the_settings_measured_on_photographs(config):
    """The photograph ablation's ``default`` is what every non-demo GAIN config ships."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/gain', config))
    cfg.model.backbone.pop('init_cfg', None)
    _, photographs = shipped_settings('default', PHOTOS, PHOTOS_EXT)
    got = settings_of(MODELS.build(cfg.model))
    photographs.pop('in_index'), got.pop('in_index')  # the backbone's last level
    assert got == photographs


@pytest.mark.parametrize('name', ['cam', 'default', 'default+noise_fill', 'default+sigma0.75',
                                  'gain_ext'])
def test_cfg_options_change_the_config_under_every_row(name):
    """``--cfg-options`` ablates around another default: every row gets it, and a row that
    sets the same field still has its own value."""
    under = ('model.am_sigma=0.5', f'{ablate.LOSS}am_area_weight=2.0')
    _, model = built(name, PHOTOS, PHOTOS_EXT, under)
    _, expected = shipped_settings(
        'gain_ext' if ablate.SETTINGS[name][1] == 'ext' else 'default', PHOTOS, PHOTOS_EXT)
    expected.update(am_sigma=0.5, am_area_weight=2.0)
    expected.update(CHANGES.get(name, {}))
    assert settings_of(model) == expected


def test_rows_made_from_the_config_see_its_cfg_options():
    """A row computed from the config (the level before the attention's) starts from the
    changed config, not the file."""
    channels = list(Config.fromfile(PHOTOS).backbone_channels)
    under = ('model.decode_head.in_index=-2',)
    options = ablate.row_options('default+prev_level', PHOTOS, under)
    level = len(channels) - 3
    assert options == [*under, f'model.decode_head.in_index={level}',
                       f'model.decode_head.in_channels={channels[level]}',
                       f'model.decode_head.channels={channels[level]}']


def test_table_pairs_each_seed_with_cam() -> None:
    def run(pseudo_best: float) -> dict:
        return dict(attention=1.0, pseudo=pseudo_best, pseudo_best=pseudo_best,
                    best_threshold=0.5, loss_cl=0.3, loss_am=0.1, s_per_iter=0.1)

    runs = {'cam': [run(10.0), run(20.0)], 'default': [run(13.0), run(21.0)]}
    row = ablate.table(runs, [0, 1]).splitlines()[-1]
    # Paired differences are 3 and 1: mean 2, std 1 (unpaired means would give the same
    # mean but a spread of 5.5 from the CAM seeds); each seed's difference is listed.
    assert '| 2.0 ± 1.0 | +3.0 / +1.0 |' in row


def test_ext_table_pairs_each_gain_ext_row_with_gain() -> None:
    """The GAIN_ext rows (trained or post-processed) are paired by seed with ``default``, the
    issue's GAIN_ext ≥ GAIN measure; GAIN rows and CAM are not listed."""
    def run(pseudo_best: float, attention: float) -> dict:
        return dict(attention=attention, pseudo=pseudo_best, pseudo_best=pseudo_best,
                    best_threshold=0.5, loss_cl=0.3, loss_am=0.1, s_per_iter=0.1)

    runs = {'cam': [run(10.0, 5.0), run(20.0, 5.0)],
            'default': [run(13.0, 8.0), run(21.0, 9.0)],
            'gain_ext': [run(12.0, 9.0), run(24.0, 9.0)],
            'gain_ext+crf': [run(14.0, 9.0), run(21.0, 9.0)]}
    lines = ablate.ext_table(runs).splitlines()
    assert [line.split(' |')[0] for line in lines[2:]] == ['| gain_ext', '| gain_ext+crf']
    assert lines[2] == '| gain_ext | 1.0 ± 2.0 | -1.0 / +3.0 | 0.5 ± 0.5 | +1.0 / +0.0 |'
    assert lines[3].startswith('| gain_ext+crf | 0.5 ± 0.5 | +1.0 / +0.0 |')
    assert ablate.ext_table({'cam': runs['cam'], 'gain_ext': runs['gain_ext']}) == ''


def test_report_prints_the_gain_ext_pairing(tmp_path) -> None:
    """The report written by the tool carries the GAIN_ext-against-GAIN table."""
    def run(pseudo_best: float) -> dict:
        return dict(attention=1.0, pseudo=pseudo_best, pseudo_best=pseudo_best,
                    best_threshold=0.5, loss_cl=0.3, loss_am=0.1, s_per_iter=0.1)

    out = tmp_path / 'report.md'
    args = argparse.Namespace(
        config='g.py', ext_config='e.py', data_root=None, cfg_options=[], work_dir='w',
        out=str(out), seeds=[0], settings=['cam', 'default', 'gain_ext'], screen=[],
        stage2_config=None, stage2=[], pairs=[], per_class=[], title='t')
    ablate.write_report(args, {'cam': [run(10.0)], 'default': [run(12.0)],
                               'gain_ext': [run(15.0)]})
    text = out.read_text()
    assert '## GAIN_ext against GAIN' in text
    assert '| gain_ext | 3.0 ± 0.0 | +3.0 |' in text


def test_pairs_table_pairs_any_two_rows_by_seed_with_their_stage_2() -> None:
    """``--pairs ROW:AGAINST``: ROW minus AGAINST seed by seed in best pseudo mIoU, attention
    and, only where both trained it, stage 2; pairs whose rows have not run yet are left
    out."""
    def run(pseudo_best: float, attention: float) -> dict:
        return dict(attention=attention, pseudo=pseudo_best, pseudo_best=pseudo_best,
                    best_threshold=0.5, loss_cl=0.3, loss_am=0.1, s_per_iter=0.1)

    runs = {'default': [run(13.0, 8.0), run(21.0, 9.0)],
            'gain_ext': [run(12.0, 9.0), run(24.0, 9.0)],
            'gain_ext+omega_e1': [run(11.0, 7.0), run(20.0, 8.0)]}
    stage2 = {'default': [dict(stage2=8.0), dict(stage2=9.0)],
              'gain_ext': [dict(stage2=9.5), dict(stage2=8.5)]}
    lines = ablate.pairs_table(runs, stage2, [('gain_ext', 'default'),
                                              ('gain_ext+omega_e1', 'gain_ext'),
                                              ('gain_ext', 'default+crf')]).splitlines()
    assert len(lines) == 4  # header, rule, the two pairs whose rows ran
    assert lines[2] == ('| gain_ext | default | 1.0 ± 2.0 | -1.0 / +3.0 | 0.5 ± 0.5 | '
                        '+1.0 / +0.0 | 0.50 ± 1.00 | +1.50 / -0.50 |')
    assert lines[3] == ('| gain_ext+omega_e1 | gain_ext | -2.5 ± 1.5 | -1.0 / -4.0 | '
                        '-1.5 ± 0.5 | -2.0 / -1.0 | – | – |')
    assert ablate.pairs_table(runs, stage2, []) == ''


def test_per_class_table_pairs_each_class_by_seed_largest_loss_first() -> None:
    """``--per-class ROW:AGAINST``: each class's IoU of both rows and their per-seed
    difference, the class GAIN loses most on first; a class absent from a seed (NaN) is left
    out of that seed only."""
    nan = float('nan')

    def run(**per_class: float) -> dict:
        return dict(per_class=per_class)

    runs = {'cam': [run(bg=50.0, sofa=30.0, bird=10.0), run(bg=60.0, sofa=nan, bird=20.0)],
            'default': [run(bg=55.0, sofa=20.0, bird=30.0), run(bg=62.0, sofa=nan, bird=26.0)]}
    lines = ablate.per_class_table(runs, 'default', 'cam').splitlines()
    assert lines[0] == '| class | default IoU | cam IoU | Δ (paired) | Δ per seed |'
    assert lines[2:] == ['| sofa | 20.0 | 30.0 | -10.0 ± 0.0 | -10.0 |',
                         '| bg | 58.5 | 55.0 | 3.5 ± 1.5 | +5.0 / +2.0 |',
                         '| bird | 28.0 | 15.0 | 13.0 ± 7.0 | +20.0 / +6.0 |']
    assert ablate.per_class_table(runs, 'default', 'gain_ext') == ''
    assert ablate.per_class_table({'cam': [run(sofa=nan)], 'default': [run(sofa=20.0)]},
                                  'default', 'cam') == ''


@pytest.mark.parametrize('crf', [False, True])
def test_a_crf_refined_run_is_scored_by_its_refined_masks(tmp_path, crf) -> None:
    """The threshold sweep scores the masks before the CRF: a run whose config refines them
    reports its refined masks at the config's threshold as its best, not the sweep's."""
    pseudo = dict(mIoU=30.0, best_mIoU=28.0, best_threshold=0.45, per_class_IoU={},
                  settings=dict(crf=crf, bg_threshold=0.4))
    (tmp_path / 'results.json').write_text(json.dumps([dict(attention=dict(mIoU=10.0),
                                                            pseudo=pseudo)]))
    got = ablate.figures(str(tmp_path))
    assert (got['pseudo_best'], got['best_threshold']) == ((30.0, 0.4) if crf else (28.0, 0.45))


def test_post_processing_row_with_the_crf_reports_its_refined_masks(monkeypatch, tmp_path):
    """A ``+crf`` row labels at its trained row's best threshold of the seed and reports the
    refined masks there, that threshold as its own (the sweep does not score them); so does
    any post-processing row whose config itself refines with the CRF."""
    base = dict(attention=20.0, pseudo=28.0, pseudo_best=29.0, best_threshold=0.45,
                per_class={})
    calls, config_crf = [], []

    def relabel(args, name, seed, out, threshold, flags, log_dir):
        calls.append((name, threshold, flags))
        return dict(mIoU=31.0, best_mIoU=30.0, best_threshold=0.3, per_class_IoU={'a': 1.0},
                    settings=dict(crf='--crf' in flags or bool(config_crf),
                                  bg_threshold=threshold))

    monkeypatch.setattr(ablate, 'run_one', lambda *a, **k: dict(base))
    monkeypatch.setattr(ablate, 'relabel', relabel)
    args = argparse.Namespace(work_dir=str(tmp_path))
    got = ablate.run_post(args, 'default+gated_area+crf', 0, str(tmp_path / 'post'))
    assert calls == [('default+gated_area+crf', 0.45, ['--crf'])]
    assert (got['pseudo'], got['pseudo_best'], got['best_threshold']) == (31.0, 31.0, 0.45)
    assert got['attention'] == 20.0 and got['per_class'] == {'a': 1.0}
    got = ablate.run_post(args, 'cam+scales1', 0, str(tmp_path / 'post'))
    assert (got['pseudo'], got['pseudo_best'], got['best_threshold']) == (31.0, 30.0, 0.3)
    config_crf.append(True)  # a config with pseudo_mask.crf=True: its masks, at 0.45
    got = ablate.run_post(args, 'cam+scales1', 0, str(tmp_path / 'post'))
    assert (got['pseudo'], got['pseudo_best'], got['best_threshold']) == (31.0, 31.0, 0.45)


def test_makefile_linear_options_restore_the_defaults_before_the_gated_prior():
    """`make ablate-real` measures around the previous photograph defaults with
    ``--cfg-options $(LINEAR)``: the linear prior λ = 5, threshold 0.35, no CRF and GAIN_ext's
    masks all the attention's, whatever the configs ship now; the rows' cached runs were
    trained with them."""
    import re
    with open(osp.join(REPO, 'Makefile'), encoding='utf-8') as f:
        makefile = re.sub(r'\\\n\s*', ' ', f.read())
    linear = re.search(r'^LINEAR = (.*)$', makefile, flags=re.M).group(1).split()
    for config in (PHOTOS, PHOTOS_EXT):
        cfg = config_with_options(config, linear)
        loss = cfg.model.decode_head.loss_decode
        assert (loss.am_area_prior, loss.am_area_weight) == ('linear', 5.0)
        assert cfg.model.decode_head.bg_threshold == cfg.pseudo_mask.bg_threshold == 0.35
        assert cfg.pseudo_mask.crf is False
        assert cfg.pseudo_mask.keep_pixel_masks is False
        shipped = Config.fromfile(config)
        assert shipped.model.decode_head.loss_decode.am_area_prior == 'gated'
        assert shipped.pseudo_mask.crf is True
    assert Config.fromfile(PHOTOS_EXT).pseudo_mask.keep_pixel_masks is True


def test_pairs_must_name_two_rows_of_the_settings(monkeypatch, capsys) -> None:
    argv = ['ablate.py', PHOTOS, '--settings', 'cam', 'default', '--pairs']
    monkeypatch.setattr(sys, 'argv', [*argv, 'default:cam'])
    assert ablate.parse_args().pairs == [('default', 'cam')]
    monkeypatch.setattr(sys, 'argv', [*argv, 'default:cam+crf'])
    with pytest.raises(SystemExit) as stop:
        ablate.parse_args()
    assert stop.value.code == 2
    assert '--pairs default:cam+crf: give ROW:AGAINST, two rows of --settings' in \
        capsys.readouterr().err
    monkeypatch.setattr(sys, 'argv', [*argv[:-1], '--per-class', 'default:gain_ext'])
    with pytest.raises(SystemExit):
        ablate.parse_args()
    assert '--per-class default:gain_ext: give ROW:AGAINST' in capsys.readouterr().err


@pytest.fixture(scope='module')
def cam_ablation(demo_root, tmp_path_factory) -> tuple:
    """One ablation of the CAM row (seed 0) on the tiny demo config changed by
    ``--cfg-options``, with its CRF and single-scale post-processing rows and stage 2: (work
    dir, report path)."""
    tmp = tmp_path_factory.mktemp('ablate')
    config = tiny_demo_config(str(tmp / 's1.py'), demo_root)
    stage2 = tiny_demo_config(str(tmp / 's2.py'), demo_root,
                              base='gain/demo/deeplabv3_r18-tiny_demo.py', size=112)
    work, out = tmp / 'ablation', tmp / 'report.md'
    cmd = [sys.executable, osp.join(REPO, 'tools/ablate.py'), config, '--work-dir', str(work),
           '--out', str(out), '--seeds', '0', '--cfg-options', 'model.am_sigma=0.3',
           '--settings', 'cam', 'cam+crf', 'cam+scales1',
           '--stage2-config', stage2, '--stage2', 'cam', '--pairs', 'cam+crf:cam',
           '--per-class', 'cam+crf:cam']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, out


def test_cfg_options_reach_the_trained_config_and_the_report(cam_ablation) -> None:
    work, out = cam_ablation
    dumped = Config.fromfile(str(work / 'cam/seed0/stage1/s1.py'))
    assert dumped.model.am_sigma == 0.3
    assert dumped.model.decode_head.loss_decode.loss_weight_am == 0.0  # the row's own
    text = out.read_text()
    assert 'changed by `model.am_sigma=0.3`' in text
    assert '--cfg-options model.am_sigma=0.3' in text  # the command that reproduces it


def test_post_processing_row_reuses_the_trained_checkpoint(cam_ablation) -> None:
    """``cam+crf``: no training of its own; the CAM row's checkpoint relabelled with the CRF
    at the CAM row's best threshold of that seed, reported in the table."""
    work, out = cam_ablation
    trained = json.loads((work / 'cam/seed0/stage1/pseudo_masks.json').read_text())
    post = json.loads((work / 'cam+crf/seed0/pseudo_masks.json').read_text())
    assert post['settings']['crf'] is True and trained['settings']['crf'] is False
    assert post['settings']['bg_threshold'] == trained['best_threshold']
    assert not (work / 'cam+crf/seed0/stage1').exists()  # nothing trained for the row
    masks = [f for f in os.listdir(work / 'cam+crf/seed0/pseudo_masks') if f.endswith('.png')]
    assert len(masks) == post['num_images']
    row = [line for line in out.read_text().splitlines() if line.startswith('| cam+crf |')]
    assert row and f"| {post['mIoU']:.1f} ± 0.0 |" in row[0]
    # --pairs cam+crf:cam: the CRF's change on the same seed, in the report's own table.
    text = out.read_text()
    assert '--pairs cam+crf:cam' in text and '## Further pairings' in text
    pair = [line for line in text.splitlines() if line.startswith('| cam+crf | cam |')]
    gain = post['mIoU'] - trained['best_mIoU']
    assert pair and pair[0].startswith(f'| cam+crf | cam | {gain:.1f} ± 0.0 | {gain:+.1f} |')
    # --per-class cam+crf:cam: the same two evaluations, class by class.
    assert '## cam+crf against cam, class by class' in text
    for cls, iou in post['per_class_IoU'].items():
        if iou == iou and trained['per_class_IoU'][cls] == trained['per_class_IoU'][cls]:
            delta = iou - trained['per_class_IoU'][cls]
            assert (f"| {cls} | {iou:.1f} | {trained['per_class_IoU'][cls]:.1f} | "
                    f"{delta:.1f} ± 0.0 | {delta:+.1f} |") in text


def test_scales_row_relabels_at_its_scales_and_takes_its_own_best(cam_ablation) -> None:
    """``cam+scales1``: the CAM checkpoint relabelled from the attention at scale 1 only; the
    threshold sweep scores these masks, so the row reports the sweep's best, not the trained
    row's."""
    work, out = cam_ablation
    trained = json.loads((work / 'cam/seed0/stage1/pseudo_masks.json').read_text())
    post = json.loads((work / 'cam+scales1/seed0/pseudo_masks.json').read_text())
    assert post['settings']['scales'] == [1.0] and trained['settings']['scales'] != [1.0]
    assert post['settings']['bg_threshold'] == trained['best_threshold']
    assert post['sweep_mIoU'] != trained['sweep_mIoU']  # other maps than the trained row's
    row = [line for line in out.read_text().splitlines() if line.startswith('| cam+scales1 |')]
    assert row and f"| {post['best_mIoU']:.1f} ± 0.0 | {post['best_threshold']:.2f} ± 0.00 |" \
        in row[0]


def test_stage2_rows_train_on_their_masks_at_their_best_threshold(cam_ablation) -> None:
    """``--stage2``: the row's checkpoint relabelled at its best threshold of that seed, stage
    2 trained on exactly those masks, its val mIoU in the report's stage-2 table."""
    work, out = cam_ablation
    seed0 = work / 'cam/seed0'
    trained = json.loads((seed0 / 'stage1/pseudo_masks.json').read_text())
    masks = json.loads((seed0 / 'stage2_masks.json').read_text())
    assert masks['settings']['bg_threshold'] == trained['best_threshold']
    assert masks['mIoU'] == pytest.approx(trained['best_mIoU'], abs=1e-6)
    dumped = Config.fromfile(str(seed0 / 'stage2' / 's2.py'))
    assert dumped.pseudo_mask_root == str(seed0 / 'stage2_masks')
    assert (seed0 / 'stage2' / 'iter_2.pth').exists()
    final = json.loads((seed0 / 'stage2_val.json').read_text())['mIoU']
    text = out.read_text()
    assert '## Stage 2' in text
    row = [line for line in text.splitlines()
           if line.startswith('| cam |') and f'| {final:.2f} ± 0.00 |' in line]
    assert len(row) == 1 and f"| {masks['mIoU']:.1f} ± 0.0 |" in row[0]


def test_the_best_of_masks_with_kept_ground_truth_is_the_masks_written():
    """keep_pixel_masks: the sweep scores the images not kept only, so the row's best is the
    masks written (ground truth among them) at the config's threshold, as with the CRF."""
    pseudo = {'mIoU': 40.0, 'best_mIoU': 35.0, 'best_threshold': 0.3,
              'settings': {'bg_threshold': 0.4, 'crf': False}}
    assert ablate.best_of(pseudo) == {'pseudo_best': 35.0, 'best_threshold': 0.3}
    assert ablate.best_of({**pseudo, 'num_kept': 3}) == {'pseudo_best': 40.0,
                                                         'best_threshold': 0.4}
