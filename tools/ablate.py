"""Measure GAIN's open choices on the demo data: stage 1 + pseudo masks, several seeds each.

    python tools/ablate.py --work-dir work_dirs/ablation --out docs/ablations.md

Every setting is the GAIN demo config plus ``--cfg-options``; each (setting, seed) runs
``tools/run_pipeline.py --skip-stage2`` into its own folder, so an interrupted ablation
resumes. The table gives mean ± std over seeds of the attention mIoU (val), the pseudo-mask
mIoU (train) at the config's background threshold and at the best one, the final L_cl and
L_am, and the time; plus, paired by seed, the change in best pseudo-mask mIoU against CAM.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

import numpy as np

TOOLS = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(osp.dirname(TOOLS), 'configs/gain/demo')
CONFIG = osp.join(CONFIGS, 'gain_r18-tiny_demo.py')
EXT_CONFIG = osp.join(CONFIGS, 'gain-ext_r18-tiny_demo.py')
STAGE2 = osp.join(CONFIGS, 'deeplabv3_r18-tiny_demo.py')
LOSS = 'model.decode_head.loss_decode.'
BG = 0.6  # background threshold of the attention mIoU and of the pseudo masks
WARMUP = (750, 250)  # CAM-only iterations, then iterations of the α ramp
LEVEL_CHANNELS = {2: 64, 3: 128}  # backbone stage -> its channels in the demo's narrow ResNet
# The GAIN demo config's attention-mining settings; every row changes some of them.
DEFAULTS = dict(alpha=1.0, scoring_grad=False, freeze_bn=True, warmup=True, fill='blur',
                mask_mode='per_class', score='sigmoid', sigma=0.5, omega=10.0, level=3,
                omega_e=1.0)


def options(**changes) -> List[str]:
    """Every attention-mining option spelled out, so a row means the same whatever the
    config's defaults are."""
    o = {**DEFAULTS, **changes}
    warmup, ramp = WARMUP if o['warmup'] else (0, 0)
    return [f"{LOSS}loss_weight_am={o['alpha']}", f"{LOSS}loss_weight_e={o['omega_e']}",
            f'{LOSS}am_warmup_iters={warmup}', f'{LOSS}am_ramp_iters={ramp}',
            f"{LOSS}am_score='{o['score']}'",
            f"model.am_scoring_grad={o['scoring_grad']}", f"model.am_freeze_bn={o['freeze_bn']}",
            f"model.am_fill='{o['fill']}'", f"model.am_mask_mode='{o['mask_mode']}'",
            f"model.am_sigma={o['sigma']}", f"model.am_omega={o['omega']}",
            f"model.decode_head.in_index={o['level']}",
            f"model.decode_head.in_channels={LEVEL_CHANNELS[o['level']]}",
            f'model.decode_head.bg_threshold={BG}', f'custom_hooks.0.bg_threshold={BG}',
            'model.am_log_when_off=True']  # the L_am column, also for CAM


# name: (what it tests, stage-1 config, --cfg-options on top of it); the order is the order
# they run in, most telling first.
SETTINGS: Dict[str, tuple] = {
    'cam': ('plain CAM baseline (α = 0), all else equal', CONFIG, options(alpha=0.0)),
    'default': ('the GAIN demo config: no L_am gradient into the scoring pass, BN frozen on '
                'the masked stream, warm-up + α ramp, blurred fill', CONFIG, options()),
    'literal': ('straightforward GAIN: α = 1 from step 0, L_am into the scoring pass, BN '
                'updated by masked images, mean-colour fill', CONFIG,
                options(scoring_grad=True, freeze_bn=False, warmup=False, fill='mean')),
    'default+mean_fill': ('default, masked region set to the mean colour (zero after '
                          'normalisation)', CONFIG, options(fill='mean')),
    'default+scoring_grad': ('default, L_am also trains the scoring pass', CONFIG,
                             options(scoring_grad=True)),
    'default+bn_update': ('default, BN statistics updated by the masked images', CONFIG,
                          options(freeze_bn=False)),
    'default-warmup': ('default without warm-up / ramp', CONFIG, options(warmup=False)),
    'default+noise_fill': ('default, masked region filled with noise', CONFIG,
                           options(fill='noise')),
    'default+union': ('default, one masked image per image (union of its classes)', CONFIG,
                      options(mask_mode='union')),
    'default+logit': ('default, L_am on the raw logit', CONFIG, options(score='logit')),
    'default+softmax': ('default, L_am on the softmax over classes', CONFIG,
                        options(score='softmax')),
    'default+hard_mask': ('default, ω = 100 (T(A) close to a hard threshold at σ)', CONFIG,
                          options(omega=100.0)),
    'default+stage3': ('default, attention from backbone stage 3 instead of 4', CONFIG,
                       options(level=2)),
    'gain_ext': ('the GAIN_ext demo config: default + L_e on 30 pixel-labelled images, '
                 'ω_e = 1', EXT_CONFIG, options()),
    'gain_ext+omega_e10': ("GAIN_ext with the paper's ω_e = 10", EXT_CONFIG,
                           options(omega_e=10.0)),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GAIN ablation on the demo data')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--out', default='docs/ablations.md')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS),
                        choices=list(SETTINGS))
    return parser.parse_args()


def run_one(name: str, seed: int, work_dir: str) -> dict:
    """Stage 1 + pseudo masks of one setting and seed (skipped if done); its figures."""
    done = osp.join(work_dir, 'results.json')
    if not osp.exists(done):
        _, config, settings = SETTINGS[name]
        options = [f'randomness.seed={seed}', *settings]
        cmd = [sys.executable, osp.join(TOOLS, 'run_pipeline.py'), config, STAGE2,
               '--work-dir', work_dir, '--skip-stage2', '--name', name,
               '--stage1-options', *options]
        print(f'\n=== {name}, seed {seed}', flush=True)
        if subprocess.call(cmd, stdout=subprocess.DEVNULL) != 0:
            raise SystemExit(f'{name} seed {seed} failed: {" ".join(cmd)}')
    return figures(work_dir)


def figures(work_dir: str) -> dict:
    """The figures one run left on disk."""
    with open(osp.join(work_dir, 'results.json'), encoding='utf-8') as f:
        row = json.load(f)[0]
    history = loss_history(osp.join(work_dir, 'stage1'))
    losses = history[-1] if history else {}
    return {
        'attention': row['attention']['mIoU'],
        'pseudo': row['pseudo']['mIoU'],
        'pseudo_best': row['pseudo']['best_mIoU'],
        'best_threshold': row['pseudo']['best_threshold'],
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


def mean_std(values: List[Optional[float]], spec: str = '.1f') -> str:
    values = [v for v in values if v is not None]
    if not values:
        return '–'
    return f'{np.mean(values):{spec}} ± {np.std(values):{spec}}'


def table(runs: Dict[str, List[dict]], seeds: List[int]) -> str:
    """Markdown table: one row per setting, mean ± std over seeds."""
    cam = runs.get('cam')
    lines = ['| setting | what it tests | attention mIoU (val) | pseudo mIoU (train, '
             'config threshold) | pseudo mIoU (best threshold) | best threshold | '
             'Δ best pseudo vs CAM (paired) | L_cl end | L_am end | s/iter |',
             '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for name, rs in runs.items():
        delta = ([r['pseudo_best'] - c['pseudo_best'] for r, c in zip(rs, cam)]
                 if cam and name != 'cam' else [])
        lines.append(
            f"| {name} | {SETTINGS[name][0]} | {mean_std([r['attention'] for r in rs])} | "
            f"{mean_std([r['pseudo'] for r in rs])} | "
            f"{mean_std([r['pseudo_best'] for r in rs])} | "
            f"{mean_std([r['best_threshold'] for r in rs], '.2f')} | "
            f"{mean_std(delta) if delta else '–'} | "
            f"{mean_std([r['loss_cl'] for r in rs], '.3f')} | "
            f"{mean_std([r['loss_am'] for r in rs], '.3f')} | "
            f"{mean_std([r['s_per_iter'] for r in rs], '.2f')} |")
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    runs: Dict[str, List[dict]] = {}
    for name in args.settings:
        runs[name] = [run_one(name, s, osp.join(args.work_dir, name, f'seed{s}'))
                      for s in args.seeds]
        # Rewritten after every setting, so a stopped ablation leaves the finished rows.
        write_report(args, runs)
    print(open(args.out, encoding='utf-8').read())


def write_report(args: argparse.Namespace, runs: Dict[str, List[dict]]) -> None:
    """``args.out``, atomically: how it was made, then the table of ``runs``."""
    seeds = ', '.join(map(str, args.seeds))
    text = (f'# GAIN ablation on the demo data\n\n'
            f'Produced by `python tools/ablate.py --work-dir {args.work_dir} --out {args.out}` '
            f'(`make ablate`), seeds {seeds}; mean ± std over seeds.\n'
            'Stage 1 of `configs/gain/demo/gain_r18-tiny_demo.py` (narrow ResNetV1c-18 from '
            'scratch, 1,500 iterations, batch 16, 80 px, CPU) with the row\'s options, pseudo '
            'masks on the 3,000 training images by its CAMPseudoLabelHook (scales 1.0 and '
            '1.5); attention mIoU on the 100 val images, both at background threshold '
            f'{BG}. "Δ vs CAM" pairs each seed with the CAM run of the same seed. L_am is the '
            "masked images' score in the row's own score type (logged as `am_value`, also "
            'when α = 0).\n\n' + table(runs, args.seeds) + '\n')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = f'{args.out}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, args.out)


if __name__ == '__main__':
    main()
