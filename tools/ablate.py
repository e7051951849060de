"""Measure GAIN's open choices on any stage-1 config: stage 1 + pseudo masks, several seeds.

    python tools/ablate.py CONFIG [--ext-config EXT_CONFIG] [--data-root DIR] \\
        --work-dir W --out docs/ablations.md [--seeds 0 1 2] [--settings cam default ...]

Every row is CONFIG (for the GAIN_ext rows, EXT_CONFIG) changed in the named way only
(``--cfg-options`` on top of the config); ``default`` is the config as given and ``cam`` the
same with α = 0. ``--cfg-options`` of this tool changes the config under every row, to ablate
around another default than the shipped one. Each (row, seed) runs ``tools/run_pipeline.py
--skip-stage2`` into its own folder, so an interrupted ablation resumes. The table gives mean ±
std over seeds of the attention mIoU (val), the pseudo-mask mIoU (train) at the config's
background threshold and at the best one, the final L_cl and L_am, and the time per iteration;
plus, paired by seed, the change in best pseudo-mask mIoU against CAM (and the per-seed
differences, losing ones too). A GAIN_ext config with ``pseudo_mask.keep_pixel_masks``
scores the masks it writes, its pixel-labelled images' ground truth among them, in both
pseudo-mask columns (its best is the written masks at the config's threshold);
``--cfg-options pseudo_mask.keep_pixel_masks=False`` compares the attention alone.

With ``--stage2-config S2 --stage2 ROW ...`` those rows also train stage 2 (config S2) on
their pseudo masks made again at the row's best background threshold of that seed (each
method at its best, as the CAM config ships CAM's) and report its val mIoU, paired with CAM's.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from gain_mmseg.engine.hooks.cam_pseudo_label_hook import pseudo_label_hook_index
from gain_mmseg.evaluation.paired_runs import mean_std, paired_cells
from gain_mmseg.fileio import write_text
from gain_mmseg.pipeline import (
    Pipeline,
    PipelinePaths,
    config_with_options,
    final_checkpoint,
    read_json,
)

TOOLS = osp.dirname(osp.abspath(__file__))
LOSS = 'model.decode_head.loss_decode.'
# The rows of λ · mean T(A) name the linear prior, so that they stay what they say on a
# config whose prior is another.
LINEAR_PRIOR = f"{LOSS}am_area_prior='linear'"
NO_WARMUP = [f'{LOSS}am_warmup_iters=0', f'{LOSS}am_ramp_iters=0',
             f'{LOSS}am_warmup_ratio=None', f'{LOSS}am_ramp_ratio=None']


def previous_level(cfg: Config) -> List[str]:
    """Options taking the attention from the backbone level before the config's
    (``backbone_channels`` of the config gives its channels)."""
    if 'backbone_channels' not in cfg:
        raise KeyError('the config defines no backbone_channels: the level rows need them')
    channels = list(cfg.backbone_channels)
    level = cfg.model.decode_head.get('in_index', -1) % len(channels) - 1
    return [f'model.decode_head.in_index={level}',
            f'model.decode_head.in_channels={channels[level]}',
            f'model.decode_head.channels={channels[level]}']


def last_stage_only(cfg: Config) -> List[str]:
    """Options letting L_am train the head and the backbone's last stage only (the config's
    ``last_stage``: the prefix of that stage's parameter names)."""
    if 'last_stage' not in cfg:
        raise KeyError('the config defines no last_stage (the prefix of the backbone\'s last '
                       'stage parameters): the last_stage rows need it')
    return [f"model.am_grad_to=['decode_head','{cfg.last_stage}']"]


def output_stride_8(cfg: Config) -> List[str]:
    """Options for a backbone at output stride 8 (its ``output_stride`` field: timm's
    dilated stages)."""
    if 'output_stride' not in cfg.model.backbone:
        raise KeyError('the backbone has no output_stride field: the os8 rows need one')
    return ['model.backbone.output_stride=8']


def input_size(size: int) -> Callable[[Config], List[str]]:
    """Options training and labelling at ``size`` px instead of the config's ``train_size``:
    every ``scale`` / ``crop_size`` / ``size`` equal to the config's ``crop_size`` (the
    pipelines' resizes and crops, the data preprocessor) and the pseudo masks' ``ref_size``."""

    def options(cfg: Config) -> List[str]:
        if 'train_size' not in cfg or 'crop_size' not in cfg:
            raise KeyError('the config defines no train_size / crop_size: the size rows '
                           'need them')
        crop = tuple(cfg.crop_size)
        found = [path for key in ('model', 'train_dataloader', 'val_dataloader',
                                  'test_dataloader')
                 for path in _paths_equal(cfg.get(key), crop, key,
                                          ('scale', 'crop_size', 'size'))]
        if cfg.get('pseudo_mask', {}).get('ref_size') == cfg.train_size:
            found.append('pseudo_mask.ref_size')
        return [f'{path}=({size},{size})' if not path.endswith('ref_size')
                else f'{path}={size}' for path in found]

    return options


def _paths_equal(node, value: tuple, prefix: str, keys: tuple) -> List[str]:
    """Dotted paths (list items by index) under ``node`` of the ``keys`` whose value is
    ``value``."""
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, (list, tuple)) else ())
    paths = []
    for key, child in items:
        path = f'{prefix}.{key}'
        if key in keys and isinstance(child, (list, tuple)) and tuple(child) == value:
            paths.append(path)
        else:
            paths.extend(_paths_equal(child, value, path, keys))
    return paths


def longer_schedule(factor: int) -> Callable[[Config], List[str]]:
    """Options training ``factor`` times as many iterations: ``train_cfg.max_iters`` and every
    iteration count equal to it (the schedulers' ``end``, the validation and checkpoint
    intervals). Warm-up and ramp given as fractions follow; counts in iterations stay."""

    def options(cfg: Config) -> List[str]:
        iters = cfg.get('train_cfg', {}).get('max_iters')
        if not iters:
            raise KeyError('the config has no train_cfg.max_iters: the iters rows need an '
                           'iteration-based schedule')
        found = ['train_cfg.max_iters']
        if cfg.train_cfg.get('val_interval') == iters:
            found.append('train_cfg.val_interval')
        found += [f'param_scheduler.{i}.end' for i, s in enumerate(cfg.get('param_scheduler', []))
                  if s.get('end') == iters]
        found += [f'default_hooks.{name}.interval'
                  for name, hook in cfg.get('default_hooks', {}).items()
                  if name != 'logger' and hook.get('interval') == iters]
        return [f'{path}={iters * factor}' for path in found]

    return options


def backbone_lr(factor: float) -> Callable[[Config], List[str]]:
    """Options multiplying the backbone's learning rate (its ``paramwise_cfg`` multiplier) by
    ``factor``."""

    def options(cfg: Config) -> List[str]:
        try:
            mult = cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult
        except AttributeError:
            raise KeyError('the config sets no optim_wrapper.paramwise_cfg.custom_keys.backbone.'
                           'lr_mult: the backbone_lr rows need one') from None
        return [f'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult={mult * factor:g}']

    return options


# OAA's points: every eighth of the schedule from a quarter on (the final model's maps join
# them when the masks are made).
OAA_RATIOS = (0.25, 0.375, 0.5, 0.625, 0.75, 0.875)


def accumulated_attention(cfg: Config) -> List[str]:
    """Options making the config's ``CAMPseudoLabelHook`` accumulate attention over training
    (OAA) at :data:`OAA_RATIOS`."""
    index = pseudo_label_hook_index(cfg)
    if index is None:
        raise KeyError('the config has no CAMPseudoLabelHook in custom_hooks: the oaa rows '
                       'need it')
    return [f"custom_hooks.{index}.accumulate_ratios=[{','.join(map(str, OAA_RATIOS))}]"]


def on(base: str, options: Callable[[Config], List[str]]) -> Callable[[Config], List[str]]:
    """The config-computed ``options`` on top of row ``base`` ('cam': α = 0; 'default': the
    config as it is)."""
    if base == 'default':
        return options
    return lambda cfg: [*SETTINGS[base][2], *options(cfg)]


# name: (what it tests, 'base' or 'ext' config, options: a list or a function of the config).
# The order is the order they run in, most telling first.
SETTINGS: Dict[str, tuple] = {
    'cam': ('plain CAM baseline (α = 0), all else equal', 'base',
            [f'{LOSS}loss_weight_am=0.0']),
    'default': ("the config as given (with the report's --cfg-options, if any)", 'base', []),
    'gain_ext': ('the GAIN_ext config: default + L_e on its pixel-labelled images', 'ext', []),
    'literal': ('straightforward GAIN: α from step 0, L_am into the scoring pass, BN updated '
                'by masked images, mean-colour fill', 'base',
                ['model.am_scoring_grad=True', 'model.am_freeze_bn=False',
                 "model.am_fill='mean'", *NO_WARMUP]),
    'default+mean_fill': ('default, masked region set to the mean colour (zero after '
                          'normalisation, the paper)', 'base', ["model.am_fill='mean'"]),
    'default+scoring_grad': ('default, L_am also trains the scoring pass', 'base',
                             ['model.am_scoring_grad=True']),
    'default+bn_update': ('default, BN statistics updated by the masked images', 'base',
                          ['model.am_freeze_bn=False']),
    'default-warmup': ('default without warm-up / ramp', 'base', NO_WARMUP),
    'default+noise_fill': ('default, masked region filled with noise', 'base',
                           ["model.am_fill='noise'"]),
    'default+union': ('default, one masked image per image (union of its classes)', 'base',
                      ["model.am_mask_mode='union'"]),
    'default+logit': ('default, L_am on the raw logit', 'base', [f"{LOSS}am_score='logit'"]),
    'default+softmax': ('default, L_am on the softmax over classes', 'base',
                        [f"{LOSS}am_score='softmax'"]),
    'default+hard_mask': ('default, ω = 100 (T(A) close to a hard threshold at σ)', 'base',
                          ['model.am_omega=100.0']),
    'default+prev_level': ('default, attention from the backbone level before the '
                           "config's", 'base', previous_level),
    **{f'default+alpha{a:g}': (f"default, α = {a:g}{' (the paper)' if a == 1 else ''}", 'base',
                               [f'{LOSS}loss_weight_am={float(a)}'])
       for a in (0.1, 0.2, 0.3, 0.5, 1, 3)},
    'default+sigma0.15': ('default, σ = 0.15 (T(A) erases from 15 % of the peak)', 'base',
                          ['model.am_sigma=0.15']),
    'default+sigma0.25': ('default, σ = 0.25 (T(A) erases from a quarter of the peak)',
                          'base', ['model.am_sigma=0.25']),
    'default+sigma0.5': ('default, σ = 0.5 (T(A) erases from half of the peak)', 'base',
                         ['model.am_sigma=0.5']),
    'default+head_only': ('default, L_am trains the classifier weights only, not the '
                          'backbone', 'base', ["model.am_grad_to='head'"]),
    'default+last_stage': ("default, L_am trains the classifier and the backbone's last stage "
                           "only (the config's last_stage)", 'base', last_stage_only),
    'default-area': ('default without the area prior (am_area_weight = 0)', 'base',
                     [f'{LOSS}am_area_weight=0.0']),
    'default+area0.5': ('default, area prior 0.5 · mean T(A) in L_am', 'base',
                        [LINEAR_PRIOR, f'{LOSS}am_area_weight=0.5']),
    'default+area2': ('default, area prior 2 · mean T(A) in L_am', 'base',
                      [LINEAR_PRIOR, f'{LOSS}am_area_weight=2.0']),
    'default+area5': ('default, area prior 5 · mean T(A) in L_am', 'base',
                      [LINEAR_PRIOR, f'{LOSS}am_area_weight=5.0']),
    'default+blur_fill': ('default, masked region blurred (box of am_fill_kernel)', 'base',
                          ["model.am_fill='blur'"]),
    'default+blur_fill-area': ('default, blurred fill and no area prior', 'base',
                               ["model.am_fill='blur'", f'{LOSS}am_area_weight=0.0']),
    'default+blur_fill+area0.5': ('default, blurred fill and area prior 0.5', 'base',
                                  ["model.am_fill='blur'", LINEAR_PRIOR,
                                   f'{LOSS}am_area_weight=0.5']),
    'default+blur_fill+area2': ('default, blurred fill and area prior 2', 'base',
                                ["model.am_fill='blur'", LINEAR_PRIOR,
                                 f'{LOSS}am_area_weight=2.0']),
    'default+blur_fill-area+head_only': (
        'default, blurred fill, no area prior, L_am trains the classifier weights only',
        'base', ["model.am_fill='blur'", f'{LOSS}am_area_weight=0.0',
                 "model.am_grad_to='head'"]),
    'default+sigma0.75': ('default, σ = 0.75 (T(A) erases only the top of the attention)',
                          'base', ['model.am_sigma=0.75']),
    **{f'default+warmup{r:g}': (f'default, warm-up {words} of the schedule instead of its own',
                                'base', [*NO_WARMUP[:2], f'{LOSS}am_warmup_ratio={r}',
                                         f'{LOSS}am_ramp_ratio=0.1'])
       for r, words in ((0.25, 'a quarter'), (0.75, 'three quarters'))},
    'cam+os8': ('plain CAM, backbone at output stride 8 (attention at 1/8 of the input)',
                'base', on('cam', output_stride_8)),
    'default+os8': ('default, backbone at output stride 8 (attention at 1/8 of the input)',
                    'base', output_stride_8),
    'default+feature_erase': ('default, the attended region erased in the attention '
                              'features instead of the image (ACoL; no second backbone pass)',
                              'base', ["model.am_erase='feature'"]),
    'default+bg_zone0.25': ("default, SeeNet's background prior: pixels with attention "
                            'below 0.25 are never erased, L_am mines only the potential zone '
                            'above', 'base', ['model.am_bg_zone=0.25']),
    'cam+oaa': ('plain CAM, pseudo masks from the attention accumulated over training (OAA: '
                'max of the maps at every eighth of the schedule from a quarter on)', 'base',
                on('cam', accumulated_attention)),
    'default+oaa': ('default, pseudo masks from the attention accumulated over training (OAA)',
                    'base', accumulated_attention),
    'cam+size320': ('plain CAM trained and labelled at 320 px instead of the config\'s size',
                    'base', on('cam', input_size(320))),
    'default+size320': ("default trained and labelled at 320 px instead of the config's size",
                        'base', input_size(320)),
    **{f'{base}+iters2x': (f"{words}, twice the config's iterations (warm-up and ramp as the same "
                           'fractions)', 'base', on(base, longer_schedule(2)))
       for base, words in (('cam', 'plain CAM'), ('default', 'default'))},
    **{f'{base}+backbone_lr{name}': (f"{words}, the backbone's learning rate {times} the "
                                     "config's", 'base', on(base, backbone_lr(factor)))
       for base, words in (('cam', 'plain CAM'), ('default', 'default'))
       for name, times, factor in (('10x', 'ten times', 10), ('0.1x', 'a tenth of', 0.1))},
    'default+area10': ('default, area prior 10 · mean T(A) in L_am', 'base',
                       [LINEAR_PRIOR, f'{LOSS}am_area_weight=10.0']),
    **{f'default+log_area{weight}': (
        f'default, log-area prior {weight} · mean log T(A) in L_am instead of the linear one '
        '(a map pays for its growth relative to its own area)',
        'base', [f"{LOSS}am_area_prior='log'", f'{LOSS}am_area_weight={float(weight)}'])
       for weight in ('1.5', '3')},
    'gain_ext+gated_area': ('GAIN_ext with the gated area prior of default+gated_area', 'ext',
                            [f"{LOSS}am_area_prior='gated'", f'{LOSS}am_area_weight=5.0']),
    'default+gated_area': (
        'default, gated area prior 5 · mean w_p T(A): the prior weighs each map, against the '
        "batch's other maps, by how far erasing it already removed its class, so a map that "
        'misses part of its object may grow (the deletion game of meaningful perturbation)',
        'base',
        [f"{LOSS}am_area_prior='gated'", f'{LOSS}am_area_weight=5.0']),
    'default+area_only': ("default with L_am the linear area prior 5 · mean T(A) alone, "
                          "without the masked images' score (a control: compact maps without "
                          'the erasing game)', 'base',
                          [f"{LOSS}am_score='none'", LINEAR_PRIOR, f'{LOSS}am_area_weight=5.0']),
    'default+sigma0.1': ('default, σ = 0.1 (T(A) erases from a tenth of the peak)', 'base',
                         ['model.am_sigma=0.1']),
    'default+omega5': ('default, ω = 5 (a softer T(A))', 'base', ['model.am_omega=5.0']),
    'default+omega3': ('default, ω = 3 (a softer T(A) still)', 'base', ['model.am_omega=3.0']),
    'gain_ext+omega_e10': ("GAIN_ext with the paper's ω_e = 10", 'ext',
                           [f'{LOSS}loss_weight_e=10.0']),
    'gain_ext+omega_e0.1': ('GAIN_ext with a lighter L_e, ω_e = 0.1', 'ext',
                            [f'{LOSS}loss_weight_e=0.1']),
    'gain_ext+omega_e1': ("GAIN_ext with the demo's ω_e = 1", 'ext',
                          [f'{LOSS}loss_weight_e=1.0']),
    'gain_ext+omega_e0.3': ('GAIN_ext with ω_e = 0.3', 'ext', [f'{LOSS}loss_weight_e=0.3']),
    'gain_ext+omega_e3': ('GAIN_ext with a heavier L_e, ω_e = 3', 'ext',
                          [f'{LOSS}loss_weight_e=3.0']),
}


# Rows that only post-process the pseudo masks of a trained row (its checkpoint, no new
# training): name: (what it tests, the trained row, gen_pseudo_labels.py flags). They label
# at the trained row's best threshold of each seed; without the CRF the threshold sweep
# scores their masks too, and gives their own best threshold.
POST: Dict[str, tuple] = {
    **{f'{base}+crf': (f'{words}, pseudo masks refined by the dense CRF at its best threshold',
                       base, ['--crf'])
       for base, words in (('cam', 'CAM'), ('default', 'default'), ('gain_ext', 'GAIN_ext'),
                           ('gain_ext+gated_area', 'gain_ext+gated_area'),
                           ('default+gated_area', 'default+gated_area'),
                           ('default+log_area1.5', 'default+log_area1.5'))},
    **{f'{base}+scales{name}': (f'{words}, pseudo masks from the attention at scales '
                                f"{', '.join(map(str, scales))} of the training size (+ flip)",
                                base, ['--scales', *map(str, scales)])
       for base, words in (('cam', 'CAM'), ('default', 'default'))
       for name, scales in (('1', (1.0, )), ('0.5-2', (0.5, 1.0, 1.5, 2.0)),
                             ('1-3', (1.0, 1.5, 2.0, 2.5, 3.0)),
                             ('1-4', (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)))},
}
ROWS = [*SETTINGS, *POST]


def describe(name: str) -> str:
    return POST[name][0] if name in POST else SETTINGS[name][0]


def trained_row(name: str) -> str:
    """The row whose training ``name`` uses: itself, or a post-processing row's base."""
    return POST[name][1] if name in POST else name


def config_of(args: argparse.Namespace, name: str) -> str:
    """The config a row trains (a post-processing row: its trained row's)."""
    return args.ext_config if SETTINGS[trained_row(name)][1] == 'ext' else args.config


def row_options(name: str, config: str, base: Sequence[str] = ()) -> List[str]:
    """The ``--cfg-options`` of row ``name`` on top of ``config`` changed by the options
    ``base`` (every row's, ahead of its own, so a row that sets the same field wins)."""
    options = SETTINGS[trained_row(name)][2]
    if not callable(options):
        return [*base, *options]
    return [*base, *options(config_with_options(config, list(base)))]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GAIN ablation: rows x seeds, paired with CAM')
    parser.add_argument('config', help='stage-1 GAIN config (the "default" row)')
    parser.add_argument('--ext-config', help='GAIN_ext config of the gain_ext rows')
    parser.add_argument('--data-root', help='data folder of every dataset (its data_root)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='changes to the configs under every row (e.g. another default '
                             'to ablate around), ahead of the row\'s own options')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--out', default='docs/ablations.md')
    parser.add_argument('--title', default='GAIN ablation', help='heading of the report')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--settings', nargs='+', choices=ROWS,
                        help='rows to run, in this order (default: every row that applies)')
    parser.add_argument('--screen', nargs='+', default=[], choices=ROWS,
                        help='rows measured with the first seed only (a second table), after '
                             'the rows of --settings')
    parser.add_argument('--stage2-config', help='stage-2 config of the --stage2 rows')
    parser.add_argument('--stage2', nargs='+', default=[], choices=list(SETTINGS),
                        help='rows of --settings that also train stage 2 on their pseudo '
                             'masks at their best threshold (needs --stage2-config)')
    parser.add_argument('--pairs', nargs='+', default=[], metavar='ROW:AGAINST',
                        help='further pairings by seed of two rows of --settings, each printed '
                             'as ROW minus AGAINST (e.g. default+crf:cam+crf)')
    parser.add_argument('--per-class', nargs='+', default=[], metavar='ROW:AGAINST',
                        help='pairings of two rows of --settings also compared class by '
                             'class (pseudo-mask IoU at the threshold each row labels at: the '
                             'config\'s, or a post-processing row\'s own)')
    parser.add_argument('--log-am-when-off', action='store_true',
                        help='also log L_am while α = 0 (fills the L_am column of the CAM row; '
                             'the same weights, but warm-up steps take longer)')
    args = parser.parse_args()
    if args.settings is None:
        args.settings = [n for n, s in SETTINGS.items() if s[1] == 'base' or args.ext_config]
    if not args.ext_config and any(
            SETTINGS[trained_row(n)][1] == 'ext'
            for n in args.settings + args.screen):
        parser.error('the gain_ext rows need --ext-config')
    if args.stage2 and not args.stage2_config:
        parser.error('--stage2 needs --stage2-config')
    if not set(args.stage2) <= set(args.settings):
        parser.error('the --stage2 rows must be rows of --settings')
    for option in ('pairs', 'per_class'):
        setattr(args, option, [tuple(pair.split(':')) for pair in getattr(args, option)])
        for pair in getattr(args, option):
            if len(pair) != 2 or not set(pair) <= set(args.settings):
                parser.error(f'--{option.replace("_", "-")} {":".join(pair)}: give '
                             f'ROW:AGAINST, two rows of --settings (the rows paired over '
                             f'every seed)')
    return args


def run_one(args: argparse.Namespace, name: str, seed: int, work_dir: str) -> dict:
    """Stage 1 + pseudo masks of one row and seed (skipped if done); its figures."""
    if name in POST:
        return run_post(args, name, seed, work_dir)
    done = osp.join(work_dir, 'results.json')
    if not osp.exists(done):
        config = config_of(args, name)
        options = [*row_options(name, config, args.cfg_options),
                   *(['model.am_log_when_off=True'] if args.log_am_when_off else [])]
        cmd = [sys.executable, osp.join(TOOLS, 'run_pipeline.py'), config,
               '--work-dir', work_dir, '--skip-stage2', '--name', name, '--seed', str(seed),
               *(['--data-root', args.data_root] if args.data_root else []),
               *(['--stage1-options', *options] if options else [])]
        _run_logged(cmd, name, seed, work_dir)
    return figures(work_dir)


def run_post(args: argparse.Namespace, name: str, seed: int, work_dir: str) -> dict:
    """A post-processing row: its trained row's figures (run first, if not done), with the
    pseudo masks of that checkpoint made again with the row's flags."""
    trained = POST[name][1]
    base = run_one(args, trained, seed, osp.join(args.work_dir, trained, f'seed{seed}'))
    out = osp.join(work_dir, 'pseudo_masks')
    flags = POST[name][2]
    result = relabel(args, name, seed, out, base['best_threshold'], flags, work_dir)
    return {**base, 'pseudo': result['mIoU'], **best_of(result),
            'per_class': result['per_class_IoU']}


def best_of(pseudo: dict) -> dict:
    """``pseudo_best`` and ``best_threshold`` of one evaluation of pseudo masks (its JSON).
    Masks refined by the CRF have no sweep of their own (the sweep scores the masks before the
    CRF), nor have masks some of which are ground truth (``keep_pixel_masks``: the sweep
    scores the other images only): their best is the masks written, at the threshold they
    were made at."""
    settings = pseudo.get('settings', {})
    # Masks kept as ground truth have no sweep either: their best is the masks written.
    if settings.get('crf', False) or pseudo.get('num_kept'):
        return {'pseudo_best': pseudo['mIoU'], 'best_threshold': settings['bg_threshold']}
    return {'pseudo_best': pseudo['best_mIoU'], 'best_threshold': pseudo['best_threshold']}


def relabel(args: argparse.Namespace, name: str, seed: int, out: str, threshold: float,
            flags: List[str], log_dir: str) -> dict:
    """Pseudo masks of row ``name``'s trained checkpoint of ``seed``, made again into ``out``
    at background ``threshold`` with ``flags`` (skipped if done); their evaluation
    (``mIoU``, and the threshold sweep's ``best_mIoU`` and ``best_threshold``)."""
    results = f'{out}.json'
    if not osp.exists(results):
        config = config_of(args, name)
        options = row_options(name, config, args.cfg_options)
        trained_dir = osp.join(args.work_dir, trained_row(name), f'seed{seed}')
        ckpt = final_checkpoint(config, PipelinePaths(trained_dir).stage1, options)
        cmd = [sys.executable, osp.join(TOOLS, 'gen_pseudo_labels.py'), config, ckpt,
               '--out', out, '--eval', '--json', results, '--bg-threshold', str(threshold),
               *flags, *(['--data-root', args.data_root] if args.data_root else []),
               *(['--cfg-options', *options] if options else [])]
        _run_logged(cmd, name, seed, log_dir, osp.basename(out) + '.log')
    with open(results, encoding='utf-8') as f:
        return json.load(f)


def run_stage2(args: argparse.Namespace, name: str, seed: int, work_dir: str,
               trained: dict) -> dict:
    """Stage 2 of a trained (row, seed) on its pseudo masks at its best threshold (skipped
    if done): the masks' mIoU and stage 2's val mIoU."""
    masks = osp.join(work_dir, 'stage2_masks')
    masks_miou = relabel(args, name, seed, masks, trained['best_threshold'], [],
                         work_dir)['mIoU']
    paths = PipelinePaths(work_dir)
    pipeline = Pipeline(config_of(args, name), args.stage2_config, work_dir, TOOLS, seed=seed,
                        data_root=args.data_root)
    print(f'\n=== {name}, seed {seed}: stage 2', flush=True)
    pipeline.train(args.stage2_config, paths.stage2, [f'pseudo_mask_root={masks}'],
                   paths.stage2_val)
    return {'stage2_masks': masks_miou, 'stage2': read_json(paths.stage2_val)['mIoU']}


def _run_logged(cmd: List[str], name: str, seed: int, work_dir: str,
                log_name: str = 'ablate.log') -> None:
    """Run one (row, seed) command with its output in ``work_dir/log_name``."""
    print(f'\n=== {name}, seed {seed}', flush=True)
    with open(osp.join(_mkdir(work_dir), log_name), 'w', encoding='utf-8') as log:
        if subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT) != 0:
            raise SystemExit(f'{name} seed {seed} failed (log: {log.name}): {" ".join(cmd)}')


def _mkdir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


def figures(work_dir: str) -> dict:
    """The figures one run left on disk (a config with ``pseudo_mask.crf=True``: its
    refined masks at the config's threshold as its best, see :func:`best_of`)."""
    with open(osp.join(work_dir, 'results.json'), encoding='utf-8') as f:
        row = json.load(f)[0]
    history = loss_history(osp.join(work_dir, 'stage1'))
    losses = history[-1] if history else {}
    return {
        'attention': row['attention']['mIoU'],
        'pseudo': row['pseudo']['mIoU'],
        **best_of(row['pseudo']),
        'per_class': row['pseudo']['per_class_IoU'],
        'loss_cl': losses.get('loss_cl'),
        'loss_am': losses.get('am_value'),
        's_per_iter': float(np.median([h['time'] for h in history])) if history else None,
    }


def loss_history(stage1_dir: str) -> List[dict]:
    """The logged training entries (losses, seconds per iteration) of the latest training run
    (mmengine's scalars.json); the iteration time is read from there, not from the wall clock,
    so that runs paused by other work on the machine are timed right."""
    logs = sorted(glob.glob(osp.join(stage1_dir, '*', 'vis_data', 'scalars.json')))
    for path in reversed(logs):  # the evaluation runs log there too, without losses
        with open(path, encoding='utf-8') as f:
            entries = [e for e in map(json.loads, f) if 'loss_cl' in e]
        if entries:
            return entries
    return []


def paired_diff(rows: List[dict], against: List[dict], key: str) -> List[float]:
    """The per-seed differences ``rows[i][key] − against[i][key]`` of two rows run with the
    same seeds in the same order; empty when ``against`` is."""
    return [r[key] - a[key] for r, a in zip(rows, against)]


def stage1_cells(rows: List[dict], against: List[dict]) -> str:
    """The four cells of ``rows`` against ``against`` seed by seed: best pseudo-mask mIoU,
    then attention mIoU (each: mean ± std, per seed)."""
    return (f"{paired_cells(paired_diff(rows, against, 'pseudo_best'))} | "
            f"{paired_cells(paired_diff(rows, against, 'attention'))}")


def table(runs: Dict[str, List[dict]], seeds: List[int]) -> str:
    """Markdown table: one row per setting, mean ± std over seeds, and the per-seed paired
    differences against CAM."""
    cam = runs.get('cam')
    lines = ['| setting | what it tests | attention mIoU (val) | pseudo mIoU (train, '
             'config threshold) | pseudo mIoU (best threshold) | best threshold | '
             'Δ best pseudo vs CAM (paired) | Δ per seed | L_cl end | L_am end | s/iter | '
             'Δ attention vs CAM (paired) | Δ attention per seed |',
             '| --- | --- |' + ' ---: |' * 11]

    for name, rs in runs.items():
        against = cam if cam and rs is not cam else []
        lines.append(
            f"| {name} | {describe(name)} | {mean_std([r['attention'] for r in rs])} | "
            f"{mean_std([r['pseudo'] for r in rs])} | "
            f"{mean_std([r['pseudo_best'] for r in rs])} | "
            f"{mean_std([r['best_threshold'] for r in rs], '.2f')} | "
            f"{paired_cells(paired_diff(rs, against, 'pseudo_best'))} | "
            f"{mean_std([r['loss_cl'] for r in rs], '.3f')} | "
            f"{mean_std([r['loss_am'] for r in rs], '.3f')} | "
            f"{mean_std([r['s_per_iter'] for r in rs], '.2f')} | "
            f"{paired_cells(paired_diff(rs, against, 'attention'))} |")
    return '\n'.join(lines)


def ext_table(runs: Dict[str, List[dict]]) -> str:
    """Markdown table of the GAIN_ext rows paired by seed with ``default`` (GAIN without
    pixel labels): the change in best pseudo-mask mIoU and in attention mIoU; empty without
    such rows or without ``default``."""
    gain = runs.get('default')
    ext = [name for name in runs if SETTINGS[trained_row(name)][1] == 'ext']
    if not gain or not ext:
        return ''
    lines = ['| setting | Δ best pseudo vs GAIN (paired) | Δ per seed | '
             'Δ attention vs GAIN (paired) | Δ attention per seed |', '| --- |' + ' ---: |' * 4]
    for name in ext:
        lines.append(f'| {name} | {stage1_cells(runs[name], gain)} |')
    return '\n'.join(lines)


def stage2_table(runs: Dict[str, List[dict]], stage2: Dict[str, List[dict]]) -> str:
    """Markdown table of the stage-2 rows: the masks they trained on, stage 2's val mIoU and
    its per-seed change against CAM's stage 2."""
    cam = stage2.get('cam')
    lines = ['| setting | best threshold | pseudo mIoU of its masks (train) | stage 2 mIoU (val) '
             '| Δ stage 2 vs CAM (paired) | Δ per seed |', '| --- |' + ' ---: |' * 5]
    for name, rs in stage2.items():
        against = cam if cam and name != 'cam' else []
        lines.append(
            f"| {name} | {mean_std([r['best_threshold'] for r in runs[name]], '.2f')} | "
            f"{mean_std([r['stage2_masks'] for r in rs])} | "
            f"{mean_std([r['stage2'] for r in rs], '.2f')} | "
            f"{paired_cells(paired_diff(rs, against, 'stage2'), '.2f')} |")
    return '\n'.join(lines)


def pairs_table(runs: Dict[str, List[dict]], stage2: Dict[str, List[dict]],
                pairs: Sequence[Tuple[str, str]]) -> str:
    """Markdown table of the ``pairs`` (row, against): the row minus the other, seed by seed,
    in best pseudo-mask mIoU, attention mIoU and, where both trained stage 2, stage 2's val
    mIoU; empty when no pair has both rows run."""
    lines = ['| setting | against | Δ best pseudo (paired) | Δ per seed | Δ attention '
             '(paired) | Δ attention per seed | Δ stage 2 (paired) | Δ stage 2 per seed |',
             '| --- | --- |' + ' ---: |' * 6]
    for name, other in pairs:
        if name not in runs or other not in runs:  # a report written before both ran
            continue
        s2 = (paired_diff(stage2[name], stage2[other], 'stage2')
              if name in stage2 and other in stage2 else [])
        lines.append(f"| {name} | {other} | {stage1_cells(runs[name], runs[other])} | "
                     f"{paired_cells(s2, '.2f')} |")
    return '\n'.join(lines) if len(lines) > 2 else ''


def per_class_table(runs: Dict[str, List[dict]], name: str, other: str) -> str:
    """Markdown table of row ``name`` against ``other`` class by class: each one's pseudo-mask
    IoU (mean over seeds, at the background threshold its masks were made at: the config's, or
    for a post-processing row the trained row's best of that seed) and their paired difference,
    the classes ordered from the largest loss to the largest gain; empty when either row has
    not run. A class absent from a seed's ground truth and masks (NaN) is left out of that
    seed."""
    if name not in runs or other not in runs:
        return ''
    deltas = {}
    for cls in runs[name][0]['per_class']:
        pairs = [(r['per_class'][cls], a['per_class'][cls])
                 for r, a in zip(runs[name], runs[other])]
        pairs = [p for p in pairs if not any(np.isnan(v) for v in p)]
        if pairs:
            deltas[cls] = pairs
    if not deltas:
        return ''
    lines = [f'| class | {name} IoU | {other} IoU | Δ (paired) | Δ per seed |',
             '| --- |' + ' ---: |' * 4]
    for cls, pairs in sorted(deltas.items(), key=lambda kv: np.mean([r - a for r, a in kv[1]])):
        lines.append(f'| {cls} | {np.mean([r for r, _ in pairs]):.1f} | '
                     f'{np.mean([a for _, a in pairs]):.1f} | '
                     f'{paired_cells([r - a for r, a in pairs])} |')
    return '\n'.join(lines)


def write_report(args: argparse.Namespace, runs: Dict[str, List[dict]],
                 screened: Optional[Dict[str, List[dict]]] = None,
                 stage2: Optional[Dict[str, List[dict]]] = None) -> None:
    """``args.out``, atomically: how it was made, the table of ``runs`` and, if any, the
    GAIN_ext rows against GAIN, the rows ``screened`` with the first seed only, the
    ``stage2`` rows and the ``args.pairs``."""
    command = ' '.join(['python tools/ablate.py', args.config,
                        *(['--ext-config', args.ext_config] if args.ext_config else []),
                        *(['--data-root', args.data_root] if args.data_root else []),
                        *(['--cfg-options', *args.cfg_options] if args.cfg_options else []),
                        '--work-dir', args.work_dir, '--out', args.out,
                        '--seeds', *map(str, args.seeds), '--settings', *args.settings,
                        *(['--screen', *args.screen] if args.screen else []),
                        *(['--stage2-config', args.stage2_config, '--stage2', *args.stage2]
                          if args.stage2 else []),
                        *(['--pairs', *(':'.join(p) for p in args.pairs)]
                          if args.pairs else []),
                        *(['--per-class', *(':'.join(p) for p in args.per_class)]
                          if args.per_class else [])])
    text = (f'# {args.title}\n\n'
            f'Produced by `{command}`; mean ± std over seeds {", ".join(map(str, args.seeds))}. '
            f'Stage 1 of `{args.config}` (GAIN_ext rows: `{args.ext_config}`)'
            + (f' changed by `{" ".join(args.cfg_options)}`' if args.cfg_options else '')
            + ' with the row\'s options; pseudo masks on the train images with the config\'s '
            '`pseudo_mask` settings, attention mIoU on val, both at the config\'s background '
            'threshold, and the pseudo masks also at the best threshold of the sweep. '
            '"Δ vs CAM" pairs each seed with the CAM run of the same seed. L_am is the masked '
            'images\' score '
            "(`am_value`, logged while α > 0).\n\n" + table(runs, args.seeds) + '\n')
    ext = ext_table(runs)
    if ext:
        text += ('\n## GAIN_ext against GAIN\n\nEach GAIN_ext row paired by seed with '
                 '`default` (the same GAIN without pixel labels).\n\n' + ext + '\n')
    if screened:
        first = args.seeds[:1]
        rows = {**({'cam': runs['cam'][:1]} if 'cam' in runs else {}), **screened}
        text += (f'\n## Rows screened with seed {first[0]} only\n\nOne seed each: a first look, '
                 'not a measurement of the spread; Δ is against the CAM run of the same '
                 'seed.\n\n' + table(rows, first) + '\n')
    if stage2:
        text += (f'\n## Stage 2\n\nStage 2 (`{args.stage2_config}`) trained on each row\'s '
                 'pseudo masks made again at its best background threshold of that seed, '
                 'mIoU on val after the last iteration; Δ pairs each seed with CAM\'s stage '
                 '2.\n\n' + stage2_table(runs, stage2) + '\n')
    pairs = pairs_table(runs, stage2 or {}, args.pairs)
    if pairs:
        text += ('\n## Further pairings\n\nEach row minus the row named beside it, seed by '
                 'seed (stage 2 where both trained it).\n\n' + pairs + '\n')
    for name, other in args.per_class:
        classes = per_class_table(runs, name, other)
        if classes:
            text += (f'\n## {name} against {other}, class by class\n\nPseudo-mask IoU of '
                     'each class on the train images at the threshold each row labels at (the '
                     'config\'s; a post-processing row\'s: the trained row\'s best of that '
                     'seed), mean over seeds, and the paired difference; largest loss '
                     'first.\n\n'
                     + classes + '\n')
    write_text(text, args.out)


def main() -> None:
    args = parse_args()
    runs: Dict[str, List[dict]] = {}
    for name in args.settings:
        runs[name] = [run_one(args, name, s, osp.join(args.work_dir, name, f'seed{s}'))
                      for s in args.seeds]
        # Rewritten after every row, so a stopped ablation leaves the finished rows.
        write_report(args, runs)
    screened: Dict[str, List[dict]] = {}
    for name in args.screen:
        if name in runs:
            continue
        screened[name] = [run_one(args, name, args.seeds[0],
                                  osp.join(args.work_dir, name, f'seed{args.seeds[0]}'))]
        write_report(args, runs, screened)
    stage2: Dict[str, List[dict]] = {}
    for name in args.stage2:
        stage2[name] = [run_stage2(args, name, s, osp.join(args.work_dir, name, f'seed{s}'), r)
                        for s, r in zip(args.seeds, runs[name])]
        write_report(args, runs, screened, stage2)
    print(open(args.out, encoding='utf-8').read())


if __name__ == '__main__':
    main()
