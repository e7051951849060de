"""The GAIN demo pipeline on the full demo data, as `make demo` runs it: stage 2, trained on
stage 1's pseudo masks only, must segment the digits (several CPU minutes)."""
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from gain_mmseg.datasets.demo_generator import make_demo_dataset

from conftest import REPO

CONFIGS = osp.join(REPO, 'configs/gain/demo')
# Well above what predicting one class everywhere, or noise, can reach.
MIN_FACTOR = 2.0


def all_background_miou(root: Path) -> float:
    """mIoU (%) on val of predicting background everywhere, as IoUMetric computes it: the
    background IoU averaged with a zero for every digit class present in val."""
    background = total = 0
    present = {0}
    for stem in (root / 'ImageSets/Segmentation/val.txt').read_text().split():
        label = np.array(Image.open(root / 'SegmentationClass' / f'{stem}.png'))
        background += int((label == 0).sum())
        total += label.size
        present |= set(np.unique(label).tolist())
    return 100.0 * background / total / len(present)


def test_final_miou_beats_all_background(tmp_path: Path) -> None:
    data = tmp_path / 'demo'
    make_demo_dataset(str(data))  # the demo's own data: same defaults as make demo
    options = [f'{loader}.dataset.data_root={data}'
               for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'gain'
    cmd = [sys.executable, osp.join(REPO, 'tools/run_pipeline.py'),
           osp.join(CONFIGS, 'gain_r18-tiny_demo.py'),
           osp.join(CONFIGS, 'deeplabv3_r18-tiny_demo.py'), '--work-dir', str(work),
           '--init-stage2-from-stage1',
           '--stage1-options', *options, '--stage2-options', *options]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    final = json.loads((work / 'stage2_val.json').read_text())['mIoU']
    baseline = all_background_miou(data)
    assert final > MIN_FACTOR * baseline, f'final mIoU {final:.2f}, all background {baseline:.2f}'
