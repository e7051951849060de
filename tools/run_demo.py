"""`make demo`: the whole pipeline on the built-in demo data, for three methods.

    python tools/run_demo.py --work-dir work_dirs/demo

1. demo data (tools/make_demo_dataset.py → data/demo, skipped if present);
2. for the CAM baseline, GAIN and GAIN_ext: tools/run_pipeline.py (stage 1 → pseudo masks →
   stage 2 → evaluation) into W/<method>/, each step skipped when its output exists; stage 2
   starts from the stage-1 backbone, the demo's stand-in for ImageNet weights;
3. the results table of all three (W/results.md) and a picture grid (W/demo_grid.png):
   image | CAM attention | GAIN attention | GAIN pseudo mask | GAIN stage-2 prediction |
   ground truth, on validation images.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model

from gain_mmseg.evaluation import write_results
from gain_mmseg.pseudo_masks import PseudoMaskGenerator, hook_settings
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset
from gain_mmseg.visualization import (
    attention_panels,
    colorize,
    heatmap_overlay,
    picture_grid,
    save_rgb,
)

TOOLS = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(osp.dirname(TOOLS), 'configs/gain/demo')
STAGE2 = osp.join(CONFIGS, 'deeplabv3_r18-tiny_demo.py')
METHODS = [  # (folder, name in the table, stage-1 config)
    ('cam', 'CAM baseline (α = 0)', 'cam_r18-tiny_demo.py'),
    ('gain', 'GAIN', 'gain_r18-tiny_demo.py'),
    ('gain_ext', 'GAIN_ext (30 pixel-labelled images)', 'gain-ext_r18-tiny_demo.py'),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GAIN pipeline on the built-in demo data')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/demo', help='where the demo data goes')
    parser.add_argument('--grid-images', type=int, default=6)
    return parser.parse_args()


def run(cmd: list) -> None:
    print('\n$ ' + ' '.join(cmd), flush=True)
    if subprocess.call(cmd) != 0:
        raise SystemExit(f'failed: {" ".join(cmd)}')


def stage1(work_dir: str, folder: str, config: str):
    """The trained stage-1 model of one method."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    ckpt = osp.join(work_dir, folder, 'stage1', f'iter_{cfg.train_cfg.max_iters}.pth')
    return init_model(cfg, ckpt, device='cpu'), cfg


def picture(work_dir: str, num: int, out: str) -> None:
    """image | CAM attention | GAIN attention | GAIN pseudo mask | stage 2 | ground truth."""
    (cam, cfg), (gain, _) = stage1(work_dir, 'cam', METHODS[0][2]), stage1(
        work_dir, 'gain', METHODS[1][2])
    dataset = build_inference_dataset(cfg, 'val')
    palette = dataset.metainfo['palette']
    settings = hook_settings(cfg)
    indices = list(range(min(num, len(dataset))))
    cam_panels = attention_panels(PseudoMaskGenerator(cam, **settings), dataset, indices)
    gain_panels = attention_panels(PseudoMaskGenerator(gain, **settings), dataset, indices)
    s2_cfg = Config.fromfile(STAGE2)
    s2_ckpt = osp.join(work_dir, 'gain', 'stage2', f'iter_{s2_cfg.train_cfg.max_iters}.pth')
    segmenter = init_model(s2_cfg, s2_ckpt, device='cpu')
    rows = []
    for c, g in zip(cam_panels, gain_panels):
        with torch.no_grad():
            pred = inference_model(segmenter, g['img_path']).pred_sem_seg.data[0].numpy()
        rows.append([g['image'], heatmap_overlay(c['image'], c['maps'].max(0, initial=0)),
                     heatmap_overlay(g['image'], g['maps'].max(0, initial=0)),
                     colorize(g['mask'], palette), colorize(pred, palette),
                     colorize(g['gt'], palette)])
    titles = ['image', 'CAM attention', 'GAIN attention', 'GAIN pseudo mask', 'stage 2 (GAIN)',
              'ground truth']
    save_rgb(out, picture_grid(rows, titles))


def main() -> None:
    args = parse_args()
    start = time.time()
    run([sys.executable, osp.join(TOOLS, 'make_demo_dataset.py'), '--out', args.data])
    rows = []
    for folder, name, config in METHODS:
        w = osp.join(args.work_dir, folder)
        run([sys.executable, osp.join(TOOLS, 'run_pipeline.py'), osp.join(CONFIGS, config),
             STAGE2, '--work-dir', w, '--name', name, '--init-stage2-from-stage1'])
        with open(osp.join(w, 'results.json'), encoding='utf-8') as f:
            rows += json.load(f)
    init_default_scope('mmseg')
    grid = osp.join(args.work_dir, 'demo_grid.png')
    picture(args.work_dir, args.grid_images, grid)
    table = write_results(rows, args.work_dir)
    print(f'\nDemo results ({osp.join(args.work_dir, "results.md")}):\n\n{table}')
    print(f'picture grid: {grid}')
    print(f'demo time: {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
