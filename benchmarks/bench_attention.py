"""Speed of GAIN's attention paths and of the batched attention-mining stream.

    python benchmarks/bench_attention.py [--repeats 20]

Prints, in the same run, each fast path beside the baseline it replaces:
1. attention (Eq. 1-2): analytic CAM vs autograd Grad-CAM, same features and pairs;
2. S_am: all (image, class) masked images in one forward pass vs one pass per pair, the way
   public re-implementations do it;
3. the blurred fill of S_am (am_fill='blur'): row + column box blur vs one 2-D window;
4. one GAIN training step vs one plain CAM step (α = 0), the price of attention mining;
5. a CAM / warm-up step (α = 0) without vs with the logging-only masked pass
   (``am_log_when_off``).
"""
import argparse
import time
from typing import Callable

import torch
from common import device_name, sync
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import gain_mmseg  # noqa: F401
from gain_mmseg.models.attention import cam, grad_cam, label_pairs
from gain_mmseg.models.segmentors.gain_encoder_decoder import box_blur

register_all_modules()


DEVICE = 'cpu'


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls, after one warm-up call (the device
    synchronised around each)."""
    fn()
    times = []
    for _ in range(repeats):
        sync(DEVICE)
        start = time.perf_counter()
        fn()
        sync(DEVICE)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def model(alpha: float, log_when_off: bool = False):
    """The demo's stage-1 model (narrow ResNetV1c-18, 11 classes)."""
    bn = dict(type='BN', requires_grad=True)
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='GAINEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0] * 3, std=[1] * 3),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16,
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=bn),
        decode_head=dict(type='AttentionMiningHead', in_channels=128, channels=128,
                         num_classes=11, loss_decode=dict(type='GAINLoss',
                                                          loss_weight_am=alpha)),
        am_log_when_off=log_when_off, train_cfg=dict(),
        test_cfg=dict(mode='whole'))).to(DEVICE).train()


def report(name: str, fast: float, base: float, base_name: str) -> None:
    print(f'{name:<44} {fast * 1e3:9.2f} ms   {base_name:<28} {base * 1e3:9.2f} ms   '
          f'speed-up {base / fast:5.1f}x')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.manual_seed(0)
    print(f'{time.strftime("%Y-%m-%d")}, {device_name(DEVICE)}, torch {torch.__version__}')

    head = model(1.0).decode_head
    feats = torch.rand(16, 128, 14, 14, device=DEVICE, requires_grad=True)
    labels = torch.rand(16, 10, device=DEVICE) < 0.2
    labels[:, 0] = True
    img_idx, cls_idx = label_pairs(labels)
    weight = head.conv_seg.weight.flatten(1)
    report(f'attention, CAM path ({img_idx.numel()} pairs)',
           timed(lambda: cam(feats, weight, img_idx, cls_idx), args.repeats),
           timed(lambda: grad_cam(feats, head.classify(feats), img_idx, cls_idx, True),
                 args.repeats), 'autograd Grad-CAM')

    seg = model(1.0)
    masked = torch.randn(img_idx.numel(), 3, 112, 112, device=DEVICE)
    with torch.no_grad():
        batched = timed(lambda: seg.score_masked(masked), args.repeats)
        looped = timed(lambda: [seg.score_masked(m[None]) for m in masked], 3)
    report(f'S_am, {len(masked)} masked images in one pass', batched, looped, 'one pass per pair')

    blur_2d = lambda: torch.nn.functional.avg_pool2d(  # noqa: E731
        masked, 15, 1, 7, count_include_pad=False)
    report(f'blurred fill, {len(masked)} images, 15 px box', timed(
        lambda: box_blur(masked, 15), args.repeats), timed(blur_2d, args.repeats),
        'one 15 x 15 window')

    images = torch.randn(16, 3, 112, 112, device=DEVICE)
    samples = [_sample(row) for row in labels]
    gain_step = _step_time(model(1.0), images, samples, args.repeats)
    cam_step = _step_time(model(0.0), images, samples, args.repeats)
    print(f'{"training step (batch 16, 112 px): GAIN":<44} {gain_step * 1e3:9.2f} ms   '
          f'{"plain CAM (α = 0)":<28} {cam_step * 1e3:9.2f} ms   '
          f'cost {gain_step / cam_step:5.2f}x')
    logged_step = _step_time(model(0.0, log_when_off=True), images, samples, args.repeats)
    report('CAM / warm-up step (α = 0), no logging pass', cam_step, logged_step,
           'am_log_when_off=True')


def _sample(row: torch.Tensor) -> SegDataSample:
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 112, 112, dtype=torch.long))
    sample.set_metainfo({'img_labels': [0] + [int(c) + 1 for c in row.nonzero().flatten()]})
    return sample.to(DEVICE)


def _step_time(seg, images, samples, repeats: int) -> float:
    opt = torch.optim.SGD(seg.parameters(), lr=1e-4)

    def step():
        losses = seg.loss(images, samples)
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    return timed(step, max(3, repeats // 4))


if __name__ == '__main__':
    main()
