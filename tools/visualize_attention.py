"""Pictures of a stage-1 model's attention: image | heat map per class | pseudo mask | truth.

    python tools/visualize_attention.py CONFIG CHECKPOINT --out attention.png [--num 8]
"""
import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope

from gain_mmseg.apis import init_stage1_model
from gain_mmseg.pseudo_masks import PseudoMaskGenerator, pseudo_mask_settings
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset
from gain_mmseg.visualization import (
    attention_panels,
    colorize,
    heatmap_overlay,
    picture_grid,
    save_rgb,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw attention maps as a picture grid')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--split', default='val', help='images to draw (default: val)')
    parser.add_argument('--images', nargs='+', help='image stems (default: the first --num)')
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--max-classes', type=int, default=3, help='heat maps per image')
    parser.add_argument('--scales', type=float, nargs='+',
                        help="default: the config's pseudo_mask settings")
    parser.add_argument('--flip', dest='flip', action='store_true', default=None)
    parser.add_argument('--no-flip', dest='flip', action='store_false')
    parser.add_argument('--bg-threshold', type=float,
                        help="default: the config's pseudo_mask settings")
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def select(dataset, stems, num) -> list:
    """Dataset indices of ``stems`` (in that order), or the first ``num`` images."""
    if not stems:
        return list(range(min(num, len(dataset))))
    index = {osp.splitext(osp.basename(dataset.get_data_info(i)['img_path']))[0]: i
             for i in range(len(dataset))}
    missing = [s for s in stems if s not in index]
    if missing:
        raise SystemExit(f'images not in the {len(dataset)}-image split: {missing}')
    return [index[s] for s in stems]


def main() -> None:
    args = parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise SystemExit(f'{path!r} does not exist')
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = init_stage1_model(cfg, args.checkpoint, device=args.device)
    dataset = build_inference_dataset(cfg, args.split)
    palette, names = dataset.metainfo['palette'], dataset.metainfo['classes']
    generator = PseudoMaskGenerator(model, **pseudo_mask_settings(
        cfg, scales=args.scales, flip=args.flip, bg_threshold=args.bg_threshold))
    rows = []
    for p in attention_panels(generator, dataset, select(dataset, args.images, args.num)):
        heat = [heatmap_overlay(p['image'], m) for m in p['maps'][:args.max_classes]]
        blank = [p['image'] * 0 + 255] * (args.max_classes - len(heat))
        rows.append([p['image'], *heat, *blank, colorize(p['mask'], palette),
                     colorize(p['gt'], palette)])
    titles = ['image', *[f'attention {i + 1}' for i in range(args.max_classes)],
              'pseudo mask', 'ground truth']
    save_rgb(args.out, picture_grid(rows, titles))
    print(f'wrote {args.out} ({len(rows)} images; classes: {", ".join(names)})')


if __name__ == '__main__':
    main()
