"""Pseudo-mask generation as the data grows: time linear, memory flat; and DataLoader workers.

    python benchmarks/bench_generation_scaling.py [--sizes 100 200 400 800] [--device cuda]

Generation (masks written and evaluated, ``generate_pseudo_masks`` as the tool runs it; after
an untimed pass over 16 other images) of the first N images of the demo data (written for the
run) with the demo's stage-1 model, each N in a fresh process so that its peak resident memory
is its own. Then images/s with 0, 1 and 2 DataLoader workers at the middle size. Exits
non-zero when the time per image at the largest size differs from the smallest by more than
25 % or peak memory grows by more than 10 %.
"""
import argparse
import copy
import json
import os.path as osp
import subprocess
import sys
import tempfile
import time

import torch
from common import REPO, add_common_args, header, make_demo_data, peak_rss_mib, table

TIME_TOLERANCE = 0.25
MEMORY_TOLERANCE = 0.10
CONFIG = osp.join(REPO, 'configs/gain/demo/gain_r18-tiny_demo.py')


def child(root: str, size: int, workers: int, device: str) -> dict:
    """Generate the masks of the first ``size`` train images; time and peak memory."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from gain_mmseg.datasets import set_data_root
    from gain_mmseg.pseudo_masks.generate import generate_pseudo_masks
    from gain_mmseg.pseudo_masks.settings import pseudo_mask_settings

    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, root)
    cfg.train_dataloader.dataset.ann_file = f'ImageSets/Segmentation/first{size}.txt'
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = model.to(device).eval()
    settings = pseudo_mask_settings(cfg)
    with tempfile.TemporaryDirectory() as out:
        # Untimed: the first passes (kernel selection, allocations), not the data, cost here.
        warm = copy.deepcopy(cfg)
        warm.train_dataloader.dataset.ann_file = 'ImageSets/Segmentation/warmup.txt'
        generate_pseudo_masks(model, warm, osp.join(out, 'warm'), evaluate=True,
                              progress=False, num_workers=workers, **settings)
        start = time.perf_counter()
        results = generate_pseudo_masks(model, cfg, osp.join(out, 'masks'), evaluate=True,
                                        progress=False, num_workers=workers, **settings)
        seconds = time.perf_counter() - start
    assert results['num_images'] == size, results['num_images']
    return {'size': size, 'workers': workers, 'seconds': seconds,
            'peak_rss_mib': peak_rss_mib()}


def run_child(root: str, size: int, workers: int, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, '--child', root, str(size), str(workers),
                          '--device', device], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(out.stdout[-2000:] + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[100, 200, 400, 800])
    parser.add_argument('--child', nargs=3, metavar=('ROOT', 'SIZE', 'WORKERS'),
                        help=argparse.SUPPRESS)
    add_common_args(parser)
    args = parser.parse_args()
    if args.child:
        root, size, workers = args.child
        print(json.dumps(child(root, int(size), int(workers), args.device)))
        return
    sizes = sorted(args.sizes)
    with tempfile.TemporaryDirectory() as tmp:
        root = osp.join(tmp, 'demo')
        make_demo_data(root, num_train=sizes[-1], num_val=8)
        with open(osp.join(root, 'ImageSets/Segmentation/train.txt')) as f:
            stems = f.read().split()
        with open(osp.join(root, 'ImageSets/Segmentation/warmup.txt'), 'w') as f:
            f.write('\n'.join(stems[-16:]) + '\n')
        for size in sizes:
            with open(osp.join(root, f'ImageSets/Segmentation/first{size}.txt'), 'w') as f:
                f.write('\n'.join(stems[:size]) + '\n')
        header('Pseudo-mask generation as the data grows', args.device,
               f'demo digits, 80 px, the demo stage-1 config ({osp.basename(CONFIG)})')
        runs = [run_child(root, size, 0, args.device) for size in sizes]
        middle = sizes[len(sizes) // 2]
        workers = [run_child(root, middle, w, args.device) for w in (0, 1, 2)]
    rows = [[r['size'], f"{r['seconds']:.1f}", f"{1000 * r['seconds'] / r['size']:.1f}",
             f"{r['peak_rss_mib']:.0f}"] for r in runs]
    print(table(['images', 'seconds', 'ms / image', 'peak RSS MiB'], rows))
    print()
    print(table(['DataLoader workers', f'images/s ({middle} images)'],
                [[r['workers'], f"{r['size'] / r['seconds']:.1f}"] for r in workers]))
    first, last = runs[0], runs[-1]
    per_image = (last['seconds'] / last['size']) / (first['seconds'] / first['size']) - 1
    memory = last['peak_rss_mib'] / first['peak_rss_mib'] - 1
    print(f"\ntime per image at {last['size']} vs {first['size']}: {per_image:+.1%} "
          f'(limit ±{TIME_TOLERANCE:.0%}); peak memory {memory:+.1%} '
          f'(limit +{MEMORY_TOLERANCE:.0%})')
    n = torch.tensor([float(r['size']) for r in runs])
    t = torch.tensor([r['seconds'] for r in runs])
    slope = float(((n - n.mean()) * (t - t.mean())).sum() / ((n - n.mean()) ** 2).sum())
    print(f'least-squares fit: {1000 * slope:.2f} ms per image + '
          f'{float(t.mean() - slope * n.mean()):.2f} s per run (dataset, model fingerprint, '
          'DataLoader set-up)')
    if abs(per_image) > TIME_TOLERANCE or memory > MEMORY_TOLERANCE:
        raise SystemExit('generation does not scale linearly with flat memory')


if __name__ == '__main__':
    main()
