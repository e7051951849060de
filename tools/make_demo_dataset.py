"""Write the demo digits dataset (Pascal VOC layout) that the demo configs train on.

Usage (from the repository root)::

    python tools/make_demo_dataset.py --out data/demo --num-train 3000 --num-val 100
"""
import argparse
from pathlib import Path

from gain_mmseg.datasets.demo_generator import make_demo_dataset


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/demo', help='dataset folder to write')
    parser.add_argument('--num-train', type=int, default=3000, help='training images')
    parser.add_argument('--num-val', type=int, default=100, help='validation images')
    parser.add_argument('--size', type=int, default=80, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--clutter', type=int, default=0,
                        help='most non-digit strokes per image (harder task)')
    parser.add_argument('--varied-contrast', action='store_true',
                        help='varied stroke colours instead of the strongest contrast')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing dataset made with other arguments')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # Told apart only for the message: make_demo_dataset itself returns the same either way.
    existed = (Path(args.out) / 'meta.json').exists() and not args.overwrite
    try:
        meta = make_demo_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                                 image_size=args.size, seed=args.seed, clutter=args.clutter,
                                 varied_contrast=args.varied_contrast,
                                 overwrite=args.overwrite)
    except (FileExistsError, ValueError) as error:
        raise SystemExit(f'error: {error}') from None
    verb = 'already up to date' if existed else 'wrote'
    params = meta['params']
    print(f'{verb}: {args.out} ({params["image_size"]}x{params["image_size"]} px, '
          f'seed {params["seed"]})')
    for split, counts in meta['splits'].items():
        per_class = ', '.join(f'{name}:{num}' for name, num
                              in zip(meta['classes'], counts['images_per_class']))
        print(f'  {split}: {counts["images"]} images; images per class: {per_class}')


if __name__ == '__main__':
    main()
