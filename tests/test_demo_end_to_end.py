"""The GAIN demo pipeline on the full demo data, as `make demo` runs it but with a shorter
stage 2 (several CPU minutes): its pseudo masks must be better than plain CAM's ever are on
these data, and stage 2, trained on them only, must segment the digits."""
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
from demo_digits import make_demo_dataset  # tools/dataset_converters (pytest.ini)
from PIL import Image

from conftest import REPO

CONFIGS = osp.join(REPO, 'configs/gain/demo')
# Well above what predicting one class everywhere, or noise, can reach.
MIN_FACTOR = 2.0
# The best pseudo-mask mIoU plain CAM (the same config with α = 0) reaches on the demo data:
# 24.6 ± 0.5 over seeds 0-2 at its best threshold, at most 25.3 (`make ablate`,
# docs/ablations.md; GAIN: 31.4 ± 0.7). GAIN must clear CAM's best with a margin, so the test
# fails if attention mining stops working and stage 1 falls back to a CAM.
CAM_BEST_PSEUDO_MIOU = 25.3
MARGIN = 2.0
STAGE2_ITERS = 400


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
    # Stage 2 for STAGE2_ITERS of the demo's 1,000 iterations, started from stage 1's
    # backbone: the suite's longest test stays short, and the bar below still holds (README,
    # Tests, gives the score it reaches).
    stage2 = [*options, f'train_cfg.max_iters={STAGE2_ITERS}',
              f'param_scheduler.0.end={STAGE2_ITERS}']
    work = tmp_path / 'gain'
    cmd = [sys.executable, osp.join(REPO, 'tools/run_pipeline.py'),
           osp.join(CONFIGS, 'gain_r18-tiny_demo.py'),
           osp.join(CONFIGS, 'deeplabv3_r18-tiny_demo.py'), '--work-dir', str(work),
           '--init-stage2-from-stage1',
           '--stage1-options', *options, '--stage2-options', *stage2]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pseudo = json.loads((work / 'stage1' / 'pseudo_masks.json').read_text())
    assert pseudo['mIoU'] > CAM_BEST_PSEUDO_MIOU + MARGIN, (
        f"GAIN's pseudo masks {pseudo['mIoU']:.2f} mIoU: not above plain CAM's best "
        f'{CAM_BEST_PSEUDO_MIOU} + {MARGIN}')
    final = json.loads((work / 'stage2_val.json').read_text())['mIoU']
    baseline = all_background_miou(data)
    assert final > MIN_FACTOR * baseline, f'final mIoU {final:.2f}, all background {baseline:.2f}'
