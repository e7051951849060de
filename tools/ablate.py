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
CONFIG = osp.join(osp.dirname(TOOLS), 'configs/gain/demo/gain_r18-tiny_demo.py')
STAGE2 = osp.join(osp.dirname(TOOLS), 'configs/gain/demo/deeplabv3_r18-tiny_demo.py')
LOSS = 'model.decode_head.loss_decode.'
BG = 0.6  # background threshold of the attention mIoU and of the pseudo masks


def options(scoring_grad: bool, freeze_bn: bool, warmup: bool, alpha: float = 1.0,
            fill: str = 'mean', mask_mode: str = 'per_class') -> list:
    """Every attention-mining option spelled out, so a row means the same whatever the
    config's defaults are."""
    return [f'{LOSS}loss_weight_am={alpha}', f'{LOSS}am_warmup_iters={300 if warmup else 0}',
            f'{LOSS}am_ramp_iters={100 if warmup else 0}',
            f'model.am_scoring_grad={scoring_grad}', f'model.am_freeze_bn={freeze_bn}',
            f"model.am_fill='{fill}'", f"model.am_mask_mode='{mask_mode}'",
            f'model.decode_head.bg_threshold={BG}', f'custom_hooks.0.bg_threshold={BG}']


# name: (what it tests, --cfg-options on top of the GAIN demo config)
SETTINGS: Dict[str, tuple] = {
    'cam': ('plain CAM baseline (α = 0), all else equal', options(False, True, False, 0.0)),
    'default': ('no L_am gradient into the scoring pass, BN frozen on the masked stream, '
                'CAM warm-up 300 it + α ramp 100 it', options(False, True, True)),
    'literal': ('straightforward GAIN: α = 1 from step 0, L_am into the scoring pass, BN '
                'updated by masked images', options(True, False, False)),
    'literal+frozen_bn': ('literal + BN frozen on the masked stream', options(True, True, False)),
    'literal+frozen_bn+warmup': ('literal + frozen BN + warm-up and ramp',
                                 options(True, True, True)),
    'default-warmup': ('default without warm-up / ramp', options(False, True, False)),
    'default+union': ('default, one masked image per image (union of its classes)',
                      options(False, True, True, mask_mode='union')),
    'default+blur': ('default, masked region filled with the blurred image',
                     options(False, True, True, fill='blur')),
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
        options = [f'randomness.seed={seed}', *SETTINGS[name][1]]
        cmd = [sys.executable, osp.join(TOOLS, 'run_pipeline.py'), CONFIG, STAGE2,
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
    runs = {name: [run_one(name, s, osp.join(args.work_dir, name, f'seed{s}'))
                   for s in args.seeds] for name in args.settings}
    seeds = ', '.join(map(str, args.seeds))
    text = (f'# GAIN ablation on the demo data\n\n'
            f'Produced by `python tools/ablate.py --work-dir {args.work_dir} --out {args.out}` '
            f'(`make ablate`), seeds {seeds}; mean ± std over seeds.\n'
            'Stage 1 of `configs/gain/demo/gain_r18-tiny_demo.py` (narrow ResNetV1c-18 from '
            'scratch, 600 iterations, batch 16, CPU), pseudo masks on the 300 training images '
            'by its CAMPseudoLabelHook (scales 1.0 and 1.5); attention mIoU on the 100 val '
            f'images at background threshold {BG}. "Δ vs CAM" pairs each seed with the CAM '
            'run of the same seed. L_am is the mean sigmoid score of the masked images '
            '(logged as `am_value`, also when α = 0).\n\n' + table(runs, args.seeds) + '\n')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    tmp = f'{args.out}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(text)


if __name__ == '__main__':
    main()
