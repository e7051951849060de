"""One method against a baseline, seed by seed: the figures of finished pipeline runs
(``tools/run_pipeline.py``, ``make demo-real``) as mean ± std and paired differences."""
import glob
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from gain_mmseg.datasets.pixel_supervision_dataset import pixel_supervised_stems
from gain_mmseg.pipeline import PipelinePaths, read_json
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset
from gain_mmseg.pseudo_masks.evaluation import PseudoMaskEvaluator


def mean_std(values: Sequence[Optional[float]], spec: str = '.1f') -> str:
    """``mean ± std`` (population std, over seeds) of the values that are not None; – if
    none is."""
    values = [v for v in values if v is not None]
    if not values:
        return '–'
    return f'{np.mean(values):{spec}} ± {np.std(values):{spec}}'


def paired_cells(delta: Sequence[float], spec: str = '.1f') -> str:
    """Two table cells of paired differences: their mean ± std and each seed's, signed;
    dashes when there are none."""
    if not delta:
        return '– | –'
    return f"{mean_std(delta, spec)} | {' / '.join(f'{d:+{spec}}' for d in delta)}"


# The figures compared: (what, how to read it from a pipeline's results.json row).
FIGURES: Tuple[Tuple[str, Callable[[dict], Optional[float]]], ...] = (
    ('attention mIoU (val, config threshold)',
     lambda row: (row.get('attention') or {}).get('mIoU')),
    ('pseudo-mask mIoU (train: the masks stage 2 trains on)',
     lambda row: (row.get('pseudo') or {}).get('mIoU')),
    ("sweep's best (masks before the CRF where the CRF is on)",
     lambda row: (row.get('pseudo') or {}).get('best_mIoU')),
    ('stage 2 mIoU (val)', lambda row: (row.get('final') or {}).get('mIoU')),
    ('stage 2, multi-scale + flip', lambda row: (row.get('model') or {}).get('mIoU_tta')),
    ('stage 2 inference time (ms / val image)',
     lambda row: (row.get('model') or {}).get('ms_per_image')),
    ('stage 2 peak memory of training (MiB)',
     lambda row: (row.get('model') or {}).get('memory_mib')),
)


def stage1_config(work_dir: str) -> Config:
    """The config stage 1 of the pipeline run in ``work_dir`` trained with (mmengine's dump
    in its work dir); an error naming the folder if there is none."""
    dumps = sorted(glob.glob(osp.join(PipelinePaths(work_dir).stage1, '*.py')))
    if not dumps:
        raise FileNotFoundError(f'{work_dir!r} holds no stage-1 run (no config in '
                                f'{PipelinePaths(work_dir).stage1!r})')
    cfg = Config.fromfile(dumps[-1])
    cfg.filename = dumps[-1]
    return cfg


def kept_stems(work_dir: str) -> Set[str]:
    """The images whose pseudo masks are their ground truth in the run of ``work_dir``: the
    pixel-labelled images of its stage-1 dataset (:class:`PixelSupervisionDataset`) where its
    masks were made with ``keep_pixel_masks`` (the settings their evaluation records); empty
    if none."""
    settings = (run_row(work_dir).get('pseudo') or {}).get('settings') or {}
    if not settings.get('keep_pixel_masks'):
        return set()
    return pixel_supervised_stems(_train_images(work_dir, keep_pixel_supervision=True))


def _train_images(work_dir: str, keep_pixel_supervision: bool = False):
    """The train images of the stage-1 run in ``work_dir``, as the pseudo masks read them."""
    cfg = stage1_config(work_dir)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return build_inference_dataset(cfg, keep_pixel_supervision=keep_pixel_supervision)


def masks_miou(work_dir: str, leave_out: Set[str]) -> float:
    """mIoU (%) of the pseudo masks on disk of the run in ``work_dir`` against the ground
    truth of its stage-1 dataset, over the images whose stem is not in ``leave_out``."""
    dataset = _train_images(work_dir)
    folder = PipelinePaths(work_dir).masks
    evaluator = PseudoMaskEvaluator(dataset.metainfo['classes'], thresholds=())
    for index in range(len(dataset)):
        stem = osp.splitext(osp.basename(dataset.get_data_info(index)['img_path']))[0]
        if stem in leave_out:
            continue
        path = osp.join(folder, f'{stem}.png')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path!r}: the run in {work_dir!r} has no pseudo mask of '
                                    f'{stem!r}')
        gt = dataset[index]['data_samples'].gt_sem_seg.data[0]
        mask = torch.from_numpy(np.array(Image.open(path))).long()
        evaluator.add(mask, gt, gt.new_zeros((0, ) + tuple(gt.shape)))
    return evaluator.results()['mIoU']


def run_seed(work_dir: str) -> int:
    """The seed stage 1 of a pipeline run in ``work_dir`` trained with (its dumped config's
    ``randomness.seed``); an error naming the folder if it has none."""
    cfg = stage1_config(work_dir)
    seed = cfg.get('randomness', {}).get('seed')
    if seed is None:
        raise ValueError(f'{cfg.filename!r} sets no randomness.seed: an unseeded run cannot be '
                         'paired by seed (run_pipeline.py --seed N)')
    return int(seed)


def run_row(work_dir: str) -> dict:
    """The results row a pipeline left in ``work_dir/results.json``."""
    rows = read_json(osp.join(work_dir, 'results.json'))
    if not rows:
        raise FileNotFoundError(f'{work_dir!r} has no results.json: the pipeline has not '
                                'finished there')
    return rows[0]


def by_seed(work_dirs: Sequence[str]) -> Dict[int, str]:
    """``{seed: work_dir}``; two runs of one seed are an error naming both."""
    runs: Dict[int, str] = {}
    for work_dir in work_dirs:
        seed = run_seed(work_dir)
        if seed in runs:
            raise ValueError(f'{runs[seed]!r} and {work_dir!r} are both seed {seed}')
        runs[seed] = work_dir
    return runs


def paired_table(runs: Sequence[str], against: Sequence[str]) -> str:
    """Markdown table of the pipeline runs ``runs`` (one method, several seeds) against the
    runs ``against`` (the baseline, the same seeds): each figure of :data:`FIGURES` as
    mean ± std over seeds for both, and the method minus the baseline seed by seed. Where a
    run kept some images' ground truth as their masks (``keep_pixel_masks``), a last row
    scores both runs' masks on disk over the images neither kept (:func:`masks_miou`)."""
    mine, theirs = by_seed(runs), by_seed(against)
    if set(mine) != set(theirs):
        raise ValueError(f'the runs are seeds {sorted(mine)}, the runs against them seeds '
                         f'{sorted(theirs)}: pairing by seed needs the same seeds')
    seeds = sorted(mine)
    rows = [run_row(mine[s]) for s in seeds]
    base = [run_row(theirs[s]) for s in seeds]
    per_seed = ' / '.join(map(str, seeds))
    lines = [f"| seeds {', '.join(map(str, seeds))} | {base[0]['method']} | "
             f"{rows[0]['method']} | Δ (paired) | Δ per seed ({per_seed}) |",
             '| --- |' + ' ---: |' * 4]
    for name, read in FIGURES:
        lines.append(_line(name, [read(r) for r in rows], [read(r) for r in base], len(seeds)))
    # Where a run kept some images' ground truth as their masks, both runs' masks again, on
    # the images neither kept: what their attention made, on the same images.
    kept = {s: kept_stems(mine[s]) | kept_stems(theirs[s]) for s in seeds}
    if any(kept.values()):
        leave_out = sorted({len(k) for k in kept.values()})
        lines.append(_line(
            'pseudo-mask mIoU of the attention alone (train, leaving out the '
            f"{'/'.join(map(str, leave_out))} images that kept their ground truth)",
            [masks_miou(mine[s], kept[s]) for s in seeds],
            [masks_miou(theirs[s], kept[s]) for s in seeds], len(seeds)))
    return '\n'.join(lines)


def _line(name: str, mine: List[Optional[float]], base: List[Optional[float]],
          num_seeds: int) -> str:
    delta = [m - b for m, b in zip(mine, base) if m is not None and b is not None]
    if len(delta) < num_seeds:
        delta = []  # a figure some run lacks is not paired
    return (f'| {name} | {mean_std(base, ".2f")} | {mean_std(mine, ".2f")} | '
            f'{paired_cells(delta, ".2f")} |')
