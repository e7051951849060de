"""`make demo` / `make demo-real`: the whole pipeline for three methods, on the built-in demo
data or on photographs in any VOC-layout folder.

    python tools/run_demo.py --work-dir work_dirs/demo                          # digits
    python tools/run_demo.py --data-root DIR --work-dir work_dirs/demo_real     # photographs

1. the inputs: demo data (tools/dataset_converters/demo_digits.py → data/demo) for the digits;
   the ImageNet EfficientNet-Lite0 checkpoint (tools/model_converters/) for photographs;
   skipped if present;
2. for the CAM baseline, GAIN and GAIN_ext: tools/run_pipeline.py (stage 1 → pseudo masks →
   stage 2 → evaluation) into W/<method>/, each step skipped when its output exists; on the
   digits stage 2 starts from the stage-1 backbone (the demo's stand-in for ImageNet weights),
   on photographs from ImageNet's;
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
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model

from gain_mmseg.apis import init_stage1_model
from gain_mmseg.datasets import set_data_root
from gain_mmseg.evaluation import write_results
from gain_mmseg.pipeline import PipelinePaths, final_checkpoint
from gain_mmseg.pseudo_masks import PseudoMaskGenerator, pseudo_mask_settings
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset
from gain_mmseg.visualization import (
    attention_panels,
    colorize,
    heatmap_overlay,
    picture_grid,
    save_rgb,
)

TOOLS = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(osp.dirname(TOOLS), 'configs/gain')
PHOTO_SUFFIX = '_effnet-lite0_1xb8-200it_voc-layout-256x256.py'
# stage-2 config, (folder, name in the table, stage-1 config) of each method, and whether
# stage 2 starts from stage 1's backbone.
PRESETS = {
    'digits': dict(
        stage2=osp.join(CONFIGS, 'demo/deeplabv3_r18-tiny_demo.py'),
        methods=[('cam', 'CAM baseline (α = 0)', 'demo/cam_r18-tiny_demo.py'),
                 ('gain', 'GAIN', 'demo/gain_r18-tiny_demo.py'),
                 ('gain_ext', 'GAIN_ext (30 pixel-labelled images)',
                  'demo/gain-ext_r18-tiny_demo.py')],
        init_stage2_from_stage1=True),
    'photos': dict(
        stage2=osp.join(CONFIGS, 'deeplabv3_effnet-lite0_1xb8-500it_voc-layout-256x256.py'),
        methods=[('cam', 'CAM baseline (α = 0)', 'cam' + PHOTO_SUFFIX),
                 ('gain', 'GAIN', 'gain' + PHOTO_SUFFIX),
                 ('gain_ext', 'GAIN_ext (14 pixel-labelled images)', 'gain-ext' + PHOTO_SUFFIX)],
        init_stage2_from_stage1=False),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GAIN pipeline for CAM, GAIN and GAIN_ext')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/demo', help='where the demo data goes')
    parser.add_argument('--data-root',
                        help='a VOC-layout folder of photographs: run the photograph configs '
                             '(ImageNet EfficientNet-Lite0) on it instead of the demo digits')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--grid-images', type=int, default=6)
    return parser.parse_args()


def run(cmd: list) -> None:
    print('\n$ ' + ' '.join(cmd), flush=True)
    if subprocess.call(cmd) != 0:
        raise SystemExit(f'failed: {" ".join(cmd)}')


def stage1(work_dir: str, folder: str, config: str, data_root: Optional[str]):
    """The trained stage-1 model of one method, and its config."""
    cfg = load_config(osp.join(CONFIGS, config), data_root)
    ckpt = finished(cfg, PipelinePaths(osp.join(work_dir, folder)).stage1)
    return init_stage1_model(cfg, ckpt), cfg


def finished(cfg: Config, work_dir: str) -> str:
    """The final checkpoint of the finished training of ``cfg`` in ``work_dir``."""
    ckpt = final_checkpoint(cfg.filename, work_dir, [])
    if ckpt is None:
        raise SystemExit(f'no finished training in {work_dir}')
    return ckpt


def load_config(path: str, data_root: Optional[str]) -> Config:
    cfg = Config.fromfile(path)
    if data_root:
        set_data_root(cfg, data_root)
    return cfg


def picture(preset: dict, work_dir: str, num: int, out: str, data_root: Optional[str]) -> None:
    """image | CAM attention | GAIN attention | GAIN pseudo mask | stage 2 | ground truth."""
    methods = preset['methods']
    (cam, cfg), (gain, _) = (stage1(work_dir, 'cam', methods[0][2], data_root),
                             stage1(work_dir, 'gain', methods[1][2], data_root))
    dataset = build_inference_dataset(cfg, 'val')
    palette = dataset.metainfo['palette']
    settings = pseudo_mask_settings(cfg)
    indices = list(range(min(num, len(dataset))))
    cam_panels = attention_panels(PseudoMaskGenerator(cam, **settings), dataset, indices)
    gain_panels = attention_panels(PseudoMaskGenerator(gain, **settings), dataset, indices)
    s2_cfg = load_config(preset['stage2'], data_root)
    s2_ckpt = finished(s2_cfg, PipelinePaths(osp.join(work_dir, 'gain')).stage2)
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


def prepare(args: argparse.Namespace) -> None:
    """Step 1: the demo data, or the ImageNet checkpoint the photograph configs load."""
    if args.data_root is None:
        run([sys.executable, osp.join(TOOLS, 'dataset_converters', 'demo_digits.py'),
             '--out', args.data])
        return
    ckpt = Config.fromfile(osp.join(CONFIGS, PRESETS['photos']['methods'][0][2]))
    ckpt = ckpt.model.backbone.init_cfg.checkpoint
    if not osp.exists(ckpt):
        run([sys.executable, osp.join(TOOLS, 'model_converters', 'efficientnet_lite_to_timm.py'),
             'lite0', ckpt])


def main() -> None:
    args = parse_args()
    start = time.time()
    preset = PRESETS['digits' if args.data_root is None else 'photos']
    prepare(args)
    rows = []
    for folder, name, config in preset['methods']:
        w = osp.join(args.work_dir, folder)
        run([sys.executable, osp.join(TOOLS, 'run_pipeline.py'), osp.join(CONFIGS, config),
             preset['stage2'], '--work-dir', w, '--name', name, '--seed', str(args.seed),
             *(['--data-root', args.data_root] if args.data_root else []),
             *(['--init-stage2-from-stage1'] if preset['init_stage2_from_stage1'] else [])])
        with open(osp.join(w, 'results.json'), encoding='utf-8') as f:
            rows += json.load(f)
    init_default_scope('mmseg')
    grid = osp.join(args.work_dir, 'demo_grid.png')
    picture(preset, args.work_dir, args.grid_images, grid, args.data_root)
    table = write_results(rows, args.work_dir)
    print(f'\nDemo results ({osp.join(args.work_dir, "results.md")}):\n\n{table}')
    print(f'picture grid: {grid}')
    print(f'demo time: {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
