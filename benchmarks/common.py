"""What the benchmarks share: the device and its name, the photographs (or the demo data when
they are absent), the ImageNet checkpoint, timing and the table a script prints."""
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEV_SET = osp.join(osp.dirname(REPO), 'shared', 'data', 'coco_voc_dev')
LITE0 = osp.join(REPO, 'pretrain', 'tf_efficientnet_lite0_in1k.pth')
PHOTO_CONFIGS = {name: osp.join(REPO, 'configs', 'gain', f'{name}_effnet-lite0_1xb8-200it_'
                                'voc-layout-256x256.py') for name in ('cam', 'gain', 'gain-ext')}
PHOTO_STAGE2 = osp.join(REPO, 'configs', 'gain',
                        'deeplabv3_effnet-lite0_1xb8-500it_voc-layout-256x256.py')
DEMO_CONFIGS = {'cam': osp.join(REPO, 'configs/gain/demo/cam_r18-tiny_demo.py'),
                'gain': osp.join(REPO, 'configs/gain/demo/gain_r18-tiny_demo.py'),
                'gain-ext': osp.join(REPO, 'configs/gain/demo/gain-ext_r18-tiny_demo.py')}


def add_common_args(parser) -> None:
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help="'cpu' or 'cuda' (default: cuda when present)")
    parser.add_argument('--data-root', default=DEV_SET,
                        help='VOC-layout photographs (default: the COCO dev set beside the '
                             'checkout; the demo data when absent)')


def device_name(device: str) -> str:
    if device.startswith('cuda'):
        return torch.cuda.get_device_name(torch.device(device))
    return f'{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads'


def header(title: str, device: str, data: str) -> None:
    print(f'# {title}\n{time.strftime("%Y-%m-%d")}, {device_name(device)}, '
          f'torch {torch.__version__}; data: {data}\n', flush=True)


def ensure_lite0() -> str:
    """The converted ImageNet EfficientNet-Lite0 checkpoint (converted once, offline)."""
    if not osp.exists(LITE0):
        subprocess.run([sys.executable, osp.join(REPO, 'tools/model_converters/'
                                                 'efficientnet_lite_to_timm.py'), 'lite0', LITE0],
                       check=True, cwd=REPO)
    return LITE0


def have_photos(root: Optional[str]) -> bool:
    return bool(root) and osp.isdir(osp.join(root, 'JPEGImages'))


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: str) -> float:
    """Seconds of one call of ``fn`` (the device synchronised before and after)."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(head: Sequence[str], rows: List[Sequence[object]]) -> str:
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def quiet() -> None:
    """Keep mmengine's INFO lines (weight initialisation) out of the printed figures."""
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)


def make_demo_data(root: str, **kwargs) -> dict:
    """Write the demo digits to ``root`` with the repository's converter
    (``tools/dataset_converters/demo_digits.py``; ``kwargs`` are its ``make_demo_dataset``'s)."""
    sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
    from demo_digits import make_demo_dataset
    return make_demo_dataset(root, **kwargs)


def chdir_repo() -> None:
    """Configs name the checkpoint relative to the repository root."""
    os.chdir(REPO)


def stage1_setup(name: str, data_root: Optional[str], device: str, checkpoint: Optional[str],
                 demo_dir: str):
    """A stage-1 model of config ``name`` ('cam', 'gain', 'gain-ext') and its config: on the
    photographs with ImageNet EfficientNet-Lite0 when ``data_root`` holds them, else on demo
    data written to ``demo_dir``. Weights: ``checkpoint`` if given, else the config's
    initialisation (the ImageNet backbone for photographs). Returns (model, cfg, data label)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from gain_mmseg.apis import load_weights_strict
    from gain_mmseg.datasets import set_data_root

    chdir_repo()
    if have_photos(data_root):
        ensure_lite0()
        cfg = Config.fromfile(PHOTO_CONFIGS[name])
        set_data_root(cfg, data_root)
        data = f'{osp.basename(osp.normpath(data_root))} (photographs)'
    else:
        make_demo_data(demo_dir, num_train=64, num_val=64)
        cfg = Config.fromfile(DEMO_CONFIGS[name])
        set_data_root(cfg, demo_dir)
        data = 'demo digits (the photographs are absent)'
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    quiet()
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_weights_strict(model, checkpoint)
    else:
        model.init_weights()
    return model.to(device).eval(), cfg, data
