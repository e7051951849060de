"""Step 2: pseudo masks from a stage-1 checkpoint.

    python tools/gen_pseudo_labels.py CONFIG CHECKPOINT --out DIR [--eval]

Writes ``DIR/<stem>.png`` (palette PNG, VOC layout) for every image of the split; a rerun
skips finished images unless ``--overwrite``.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmseg.apis import init_model

from gain_mmseg.pseudo_masks import generate_pseudo_masks


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate pseudo masks from attention maps')
    parser.add_argument('config', help='stage-1 config')
    parser.add_argument('checkpoint', help='stage-1 checkpoint')
    parser.add_argument('--out', required=True, help='output folder of the masks')
    parser.add_argument('--split', default='train', help='images to label (default: train)')
    parser.add_argument('--scales', type=float, nargs='+', default=[0.5, 1.0, 1.5, 2.0])
    parser.add_argument('--no-flip', action='store_true', help='no horizontal-flip fusion')
    parser.add_argument('--bg-threshold', type=float, default=0.15,
                        help='constant background score (default: 0.15)')
    parser.add_argument('--bg-power', type=float,
                        help='background (1 - max A)^p instead of a constant')
    parser.add_argument('--ignore-band', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                        help='uncertain pixels (labelled differently at LOW and HIGH) -> 255')
    parser.add_argument('--crf', action='store_true', help='dense CRF refinement')
    parser.add_argument('--save-maps', action='store_true', help='also save raw maps (.npz)')
    parser.add_argument('--overwrite', action='store_true', help='rewrite existing masks')
    parser.add_argument('--eval', action='store_true',
                        help='score against the ground truth: per-class IoU, mIoU, '
                             'background-threshold sweep')
    parser.add_argument('--json', help='write the evaluation results to this JSON file')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda:0'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise SystemExit(f'{path!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = init_model(cfg, args.checkpoint, device=args.device)
    generate_pseudo_masks(
        model, cfg, args.out, split=args.split, save_maps=args.save_maps,
        overwrite=args.overwrite, evaluate=args.eval, batch_size=args.batch_size,
        results_json=args.json, scales=args.scales, flip=not args.no_flip,
        bg_threshold=args.bg_threshold, bg_power=args.bg_power,
        ignore_band=tuple(args.ignore_band) if args.ignore_band else None, crf=args.crf)


if __name__ == '__main__':
    main()
