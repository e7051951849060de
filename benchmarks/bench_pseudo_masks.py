"""Speed of scoring pseudo masks with the background-threshold sweep.

    python benchmarks/bench_pseudo_masks.py [--images 200]

For every image, :class:`PseudoMaskEvaluator` scores the final mask and the masks of 19
background thresholds. Prints, in the same run, the path the generator uses (all thresholds'
labels from one max over the classes, all areas from one ``bincount``) beside the baseline it
replaces (one argmax and one ``IoUMetric.intersect_and_union`` per threshold), and checks that
both give the same mIoU.
"""
import argparse
import time

import torch
from common import device_name, sync
from mmseg.evaluation import IoUMetric
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

import gain_mmseg  # noqa: F401
from gain_mmseg.pseudo_masks import PseudoMaskEvaluator, PseudoMaskGenerator

register_all_modules()
NAMES = ('background', ) + tuple(str(d) for d in range(10))


def generator() -> PseudoMaskGenerator:
    """A generator around the demo's stage-1 head (its labelling needs no trained weights)."""
    seg = MODELS.build(dict(
        type='GAINEncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16),
        decode_head=dict(type='AttentionMiningHead', in_channels=128, channels=128,
                         num_classes=len(NAMES), loss_decode=dict(type='GAINLoss')),
        train_cfg=dict(), test_cfg=dict(mode='whole')))
    return PseudoMaskGenerator(seg)


def images(num: int, size: int = 80) -> list:
    """Random attention maps (2 classes per image) and ground truth, demo-sized."""
    torch.manual_seed(0)
    out = []
    for _ in range(num):
        classes = torch.randperm(10)[:2] + 1
        gt = torch.randint(0, len(NAMES), (size, size))
        out.append((torch.rand(2, size, size), classes, gt))
    return out


def sweep(gen: PseudoMaskGenerator, data: list) -> dict:
    ev = PseudoMaskEvaluator(NAMES)
    for maps, classes, gt in data:
        ev.add(gen.label(maps, classes), gt, gen.sweep_labels(maps, classes, ev.thresholds))
    return ev.results()


def baseline(gen: PseudoMaskGenerator, data: list) -> dict:
    ev = PseudoMaskEvaluator(NAMES)
    final, per_threshold = [], {t: [] for t in ev.thresholds}
    for maps, classes, gt in data:
        for t in (None, ) + ev.thresholds:
            keys, scores = gen.scores(maps, classes, t)
            areas = IoUMetric.intersect_and_union(keys[scores.argmax(0)], gt, len(NAMES), 255)
            (final if t is None else per_threshold[t]).append(areas)
    ev.areas = torch.stack([torch.stack([torch.stack([a[i] for a in rows]).sum(0).double()
                                         for i in range(4)])
                            # final masks of all images, of the images not kept (all),
                            # then the sweep: the evaluator's layout
                            for rows in [final, final] + list(per_threshold.values())])
    ev.num_images = len(data)
    return ev.results()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=200)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    print(f'{time.strftime("%Y-%m-%d")}, {device_name(args.device)}, torch {torch.__version__}')
    gen = generator()
    gen.model.to(args.device)
    data = [tuple(t.to(args.device) for t in item) for item in images(args.images)]
    timings = {}
    for name, fn in (('sweep', sweep), ('baseline', baseline)):
        sync(args.device)
        start = time.perf_counter()
        result = fn(gen, data)
        sync(args.device)
        timings[name] = (result, time.perf_counter() - start)
    (fast, t_fast), (base, t_base) = timings['sweep'], timings['baseline']
    if (abs(fast['best_mIoU'] - base['best_mIoU']) > 1e-9 or fast['mIoU'] != base['mIoU']
            or fast['best_threshold'] != base['best_threshold']
            or any(abs(fast['sweep_mIoU'][t] - base['sweep_mIoU'][t]) > 1e-9
                   for t in fast['sweep_mIoU'])):
        raise SystemExit(f'paths disagree: {fast["best_mIoU"]} vs {base["best_mIoU"]}')
    per = 1e3 / args.images
    print(f'{"scoring + 19-threshold sweep, per image":<44} {t_fast * per:9.2f} ms   '
          f'{"argmax + IoUMetric per threshold":<34} {t_base * per:9.2f} ms   '
          f'speed-up {t_base / t_fast:5.1f}x   (same mIoU: {fast["best_mIoU"]:.2f})')


if __name__ == '__main__':
    main()
