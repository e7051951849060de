"""Stage 2 adds nothing: the stage-2 config against mmseg's stock DeepLabV3.

    python benchmarks/bench_stage2_overhead.py [--iters 12] [--rounds 3] [--device cuda]

Seconds per training iteration (mmengine's ``IterTimerHook``: data loading included, the
median after two warm-up iterations) of the project's stage-2 photographs config
(``deeplabv3_effnet-lite0_...``, gain_mmseg imported) against a config built from
mmsegmentation's own ``_base_/models/deeplabv3_r50-d8.py``, ``_base_/datasets/
pascal_voc12.py`` and ``default_runtime.py`` with the same backbone (ImageNet
EfficientNet-Lite0), head width, crop, batch, optimizer, augmentation and data — and without
gain_mmseg. Both train on the ground-truth masks of the photographs' train split. Each
round runs the two in fresh processes, alternating; the ratio is of the medians over rounds.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile

from common import LITE0, PHOTO_STAGE2, REPO, add_common_args, ensure_lite0, have_photos, header

STOCK = """
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py', 'mmseg::_base_/datasets/pascal_voc12.py',
          'mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmpretrain.models'], allow_failed_imports=False)
crop_size = (256, 256)
norm_cfg = dict(type='BN', requires_grad=True)
data_root = {root!r}
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size, mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True,
                           pad_val=0, seg_pad_val=255),
    backbone=dict(_delete_=True, type='mmpretrain.TIMMBackbone',
                  model_name='tf_efficientnet_lite0', features_only=True, pretrained=False,
                  output_stride=16, init_cfg=dict(type='Pretrained', checkpoint={ckpt!r})),
    decode_head=dict(in_channels=320, in_index=-1, channels=128, num_classes=21,
                     norm_cfg=norm_cfg, align_corners=False),
    auxiliary_head=None)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=2, persistent_workers=True,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4),
                     paramwise_cfg=dict(custom_keys={{'backbone': dict(lr_mult=0.1)}}))
"""


def child(which: str, root: str, iters: int, work: str) -> dict:
    """Train ``iters`` iterations of one config; per-iteration seconds from IterTimerHook."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    os.chdir(REPO)
    if which == 'stock':
        path = osp.join(work, 'stock_deeplabv3.py')
        with open(path, 'w') as f:
            f.write(STOCK.format(root=root, ckpt=LITE0))
        cfg = Config.fromfile(path)
    else:
        from gain_mmseg.datasets import apply_pseudo_mask_root, set_data_root

        cfg = Config.fromfile(PHOTO_STAGE2)
        set_data_root(cfg, root)
        # The ground truth stands in for pseudo masks, as in the stock config.
        cfg.pseudo_mask_root = osp.join(root, 'SegmentationClass')
        apply_pseudo_mask_root(cfg)
    cfg.work_dir = osp.join(work, which)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_begin=10**9)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=iters, by_epoch=False)]
    cfg.default_hooks = dict(timer=dict(type='IterTimerHook'),
                             logger=dict(type='LoggerHook', interval=1))
    cfg.custom_hooks = []
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    times = runner.message_hub.get_scalar('train/time').data[0][2:]
    return {'seconds': float(sorted(times)[len(times) // 2]),
            'gain_mmseg': 'gain_mmseg' in sys.modules}


def run_child(which: str, root: str, iters: int, work: str, device: str) -> dict:
    env = None if device.startswith('cuda') else {**os.environ, 'CUDA_VISIBLE_DEVICES': ''}
    out = subprocess.run([sys.executable, __file__, '--child', which, root, work,
                          '--iters', str(iters)], capture_output=True, text=True, cwd=REPO,
                         env=env)
    if out.returncode != 0:
        raise SystemExit(out.stdout[-2000:] + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=12)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--child', nargs=3, metavar=('WHICH', 'ROOT', 'WORK'),
                        help=argparse.SUPPRESS)
    add_common_args(parser)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.iters, args.child[2])))
        return
    if not have_photos(args.data_root):
        print(f'skipped: the stage-2 photographs config needs VOC-layout photographs '
              f'(--data-root; {args.data_root!r} has none)')
        return
    ensure_lite0()
    header('Stage 2 against mmseg\'s stock DeepLabV3', args.device,
           f'{osp.basename(osp.normpath(args.data_root))} train, ground-truth masks')
    times = {'ours': [], 'stock': []}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.rounds):
            for which in ('stock', 'ours'):
                res = run_child(which, args.data_root, args.iters, work, args.device)
                assert res['gain_mmseg'] == (which == 'ours'), res
                times[which].append(res['seconds'])
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print('| config | s / iteration (per round) | median |\n|---|---|---|')
    for which, label in (('stock', 'mmseg stock DeepLabV3 (no gain_mmseg)'),
                         ('ours', 'gain_mmseg stage 2')):
        print(f"| {label} | {', '.join(f'{t:.3f}' for t in times[which])} | "
              f'{med[which]:.3f} |')
    print(f"\nstage 2 / stock: {med['ours'] / med['stock']:.3f} (target <= 1.02)")


if __name__ == '__main__':
    main()
