"""Stage-1 training cost: GAIN and GAIN_ext against plain CAM and against their floor.

    python benchmarks/bench_training_cost.py [--steps 5] [--device cuda]

For CAM (α = 0), GAIN and GAIN_ext on the same backbone, batch and input size — the
photographs' configs (ImageNet EfficientNet-Lite0, 256 px, batch 8) when the photographs are
present, and the demo's ResNet-18 — seconds per training step (``train_step`` on batches
loaded beforehand, α at its full value, after one untimed step) and peak memory, each variant
in a fresh process. GAIN's floor is 1 + the mean number of ground-truth classes per image of
those batches: its step scores one masked image per (image, class) pair besides the image,
so it cannot cost less than that many CAM forward/backward passes without changing the
method. Then the wall time of a whole short stage-1 run (tools/train.py, warm-up, final
validation and pseudo masks included) of GAIN against CAM on the demo data.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import torch
from common import (
    DEMO_CONFIGS,
    PHOTO_CONFIGS,
    REPO,
    add_common_args,
    chdir_repo,
    ensure_lite0,
    have_photos,
    header,
    make_demo_data,
    peak_rss_mib,
    table,
)

VARIANTS = ('cam', 'gain', 'gain-ext')


def child(setup: str, variant: str, root: str, steps: int, device: str) -> dict:
    """Seconds per step and peak memory of one variant (run in its own process)."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmseg.registry import MODELS

    from gain_mmseg.datasets import set_data_root
    from gain_mmseg.structures import batch_image_labels

    chdir_repo()
    cfg = Config.fromfile((PHOTO_CONFIGS if setup == 'photos' else DEMO_CONFIGS)[variant])
    set_data_root(cfg, root)
    cfg.model.am_log_when_off = False  # CAM is plain CAM: no logging-only masked pass
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = model.to(device).train()
    model.set_train_progress(cfg.train_cfg.max_iters - 1, cfg.train_cfg.max_iters)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batches, it = [], iter(loader)
    for _ in range(steps + 1):
        batches.append(next(it))
    head = model.decode_head
    classes = [int(labels[head.fg_index].sum()) for b in batches for labels in
               batch_image_labels(b['data_samples'], head.num_classes, head.ignore_index)]
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i, batch in enumerate(batches):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.train_step(batch, optim)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - start)
    memory = (torch.cuda.max_memory_allocated() / 2**20 if device.startswith('cuda')
              else peak_rss_mib())
    return {'seconds': sorted(times)[len(times) // 2], 'memory_mib': memory,
            'classes_per_image': sum(classes) / len(classes),
            'size': list(cfg.model.data_preprocessor.size),
            'batch': len(classes) // len(batches)}


def run_child(setup: str, variant: str, root: str, steps: int, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, '--child', setup, variant, root,
                          '--steps', str(steps), '--device', device],
                         capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(out.stdout[-2000:] + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_run(variant: str, root: str, work: str, iters: int, device: str) -> float:
    """Wall seconds of tools/train.py on a demo config shortened to ``iters`` iterations."""
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}']
    env_device = {} if device.startswith('cuda') else {'CUDA_VISIBLE_DEVICES': ''}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, 'tools/train.py', DEMO_CONFIGS[variant], '--work-dir',
                          work, '--data-root', root, '--cfg-options', *opts],
                         capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, **env_device})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=5, help='timed steps per variant')
    parser.add_argument('--run-iters', type=int, default=100,
                        help='iterations of the whole demo stage-1 runs')
    parser.add_argument('--child', nargs=3, metavar=('SETUP', 'VARIANT', 'ROOT'),
                        help=argparse.SUPPRESS)
    add_common_args(parser)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.steps, args.device)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        demo = osp.join(tmp, 'demo')
        make_demo_data(demo, num_train=200, num_val=50)
        setups = [('demo', demo, 'demo ResNet-18 (from scratch), 80 px')]
        if have_photos(args.data_root):
            ensure_lite0()
            setups.insert(0, ('photos', args.data_root,
                              'photographs, ImageNet EfficientNet-Lite0'))
        header('Stage-1 training cost', args.device,
               ', '.join(label for _, _, label in setups))
        rows = []
        for setup, root, label in setups:
            res = {v: run_child(setup, v, root, args.steps, args.device) for v in VARIANTS}
            floor = 1 + res['gain']['classes_per_image']
            size = 'x'.join(str(n) for n in res['cam']['size'])
            for v in VARIANTS:
                ratio = res[v]['seconds'] / res['cam']['seconds']
                rows.append([label, f"{size}, batch {res[v]['batch']}", v,
                             f"{res[v]['seconds']:.3f}", f'{ratio:.2f}',
                             f'{floor:.2f}' if v != 'cam' else '',
                             f'{ratio / floor:.2f}' if v != 'cam' else '',
                             f"{res[v]['memory_mib']:.0f}"])
        kind = 'GPU MiB' if args.device.startswith('cuda') else 'peak RSS MiB'
        print(table(['setup', 'input', 'variant', 's / step', 'x CAM',
                     'floor (1 + classes/img)', 'x floor', kind], rows))
        cam = whole_run('cam', demo, osp.join(tmp, 'cam'), args.run_iters, args.device)
        gain = whole_run('gain', demo, osp.join(tmp, 'gain'), args.run_iters, args.device)
    print(f'\nwhole demo stage-1 run of {args.run_iters} iterations (tools/train.py: warm-up, '
          f'final validation and pseudo masks included): CAM {cam:.1f} s, GAIN {gain:.1f} s, '
          f'GAIN / CAM {gain / cam:.2f}')


if __name__ == '__main__':
    main()
