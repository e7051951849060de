"""Step 2: pseudo masks from a stage-1 checkpoint.

    python tools/gen_pseudo_labels.py CONFIG CHECKPOINT --out DIR [--eval]

Writes ``DIR/<stem>.png`` (palette PNG, VOC layout) for every image of the split; a rerun
skips finished images unless ``--overwrite``. The settings are the config's ``pseudo_mask``
dict (the same the stage-1 hook used); each flag below overrides its setting only when given.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from gain_mmseg.apis import init_stage1_model
from gain_mmseg.datasets import check_data_config, set_data_root
from gain_mmseg.engine import exit_if_distributed, init_distributed
from gain_mmseg.pseudo_masks import generate_pseudo_masks, pseudo_mask_settings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate pseudo masks from attention maps')
    parser.add_argument('config', help='stage-1 config')
    parser.add_argument('checkpoint', help='stage-1 checkpoint')
    parser.add_argument('--out', required=True, help='output folder of the masks')
    parser.add_argument('--split', default='train', help='images to label (default: train)')
    parser.add_argument('--scales', type=float, nargs='+', help='input scales')
    parser.add_argument('--ref-size', type=int,
                        help='long side (px) that scale 1.0 resizes each image to')
    parser.add_argument('--flip', dest='flip', action='store_true', default=None,
                        help='horizontal-flip fusion')
    parser.add_argument('--no-flip', dest='flip', action='store_false',
                        help='no horizontal-flip fusion')
    parser.add_argument('--bg-threshold', type=float, help='constant background score')
    parser.add_argument('--bg-power', type=float,
                        help='background (1 - max A)^p instead of a constant')
    parser.add_argument('--ignore-band', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='uncertain pixels (labelled differently at LOW and HIGH) -> 255')
    parser.add_argument('--crf', action='store_true', default=None, help='dense CRF refinement')
    parser.add_argument('--accumulated',
                        help='folder of attention accumulated over stage 1 (the hook\'s '
                             'accumulate_ratios, OAA): max-fused with the checkpoint\'s maps')
    parser.add_argument('--save-maps', action='store_true', help='also save raw maps (.npz)')
    parser.add_argument('--overwrite', action='store_true', help='rewrite existing masks')
    parser.add_argument('--eval', action='store_true',
                        help='score against the ground truth: per-class IoU, mIoU, '
                             'background-threshold sweep')
    parser.add_argument('--json', help='write the evaluation results to this JSON file')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int,
                        help='DataLoader workers (default: num_workers of the split\'s dataloader)')
    parser.add_argument('--device',
                        help="'cpu' or 'cuda:N' (default: this process's GPU if any, else CPU)")
    parser.add_argument('--data-root',
                        help='data folder of every dataset in the config (its data_root)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                        help='pytorch: one share of the images per torchrun process')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        raise SystemExit(f'config {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    check_data_config(cfg, [f'{args.split}_dataloader'])
    init_distributed(args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    device = args.device or (f"cuda:{os.environ.get('LOCAL_RANK', 0)}"
                             if torch.cuda.is_available() else 'cpu')
    model = init_stage1_model(cfg, args.checkpoint, device=device)
    generate_pseudo_masks(
        model, cfg, args.out, split=args.split, save_maps=args.save_maps,
        overwrite=args.overwrite, evaluate=args.eval, batch_size=args.batch_size,
        results_json=args.json, num_workers=args.num_workers, accumulated=args.accumulated,
        **pseudo_mask_settings(
            cfg, scales=args.scales, ref_size=args.ref_size, flip=args.flip,
            bg_threshold=args.bg_threshold, bg_power=args.bg_power,
            ignore_band=args.ignore_band, crf=args.crf))
    exit_if_distributed()


if __name__ == '__main__':
    main()
