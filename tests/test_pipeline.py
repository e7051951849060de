"""tools/run_pipeline.py: steps on disk, resumable; stage 2 trains on the pseudo masks."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS
from PIL import Image

from gain_mmseg.datasets import apply_pseudo_mask_root
from gain_mmseg.pipeline import backbone_init

from conftest import REPO, tiny_demo_config


def _pipeline(s1, s2, work, *extra):
    cmd = [sys.executable, osp.join(REPO, 'tools/run_pipeline.py'), s1, s2, '--work-dir', work,
           '--name', 'tiny', *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def configs(demo_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp('configs')
    s1 = tiny_demo_config(str(folder / 's1.py'), demo_root)
    s2 = tiny_demo_config(str(folder / 's2.py'), demo_root,
                          base='gain/demo/deeplabv3_r18-tiny_demo.py', size=112)
    return s1, s2


@pytest.fixture(scope='module')
def stage1_work(configs, tmp_path_factory) -> str:
    """Work dir of one pipeline run stopped after the pseudo masks (read, never changed)."""
    work = str(tmp_path_factory.mktemp('stage1') / 'w')
    _pipeline(*configs, work, '--skip-stage2')
    return work


def _steps(out: str):
    return [line for line in out.splitlines() if line.startswith('$ ')]


def test_pipeline_resumes_after_an_interrupted_step(configs, tmp_path):
    s1, s2 = configs
    work = str(tmp_path / 'w')
    out = _pipeline(s1, s2, work, '--skip-stage2')  # as if stopped after the pseudo masks
    # The attention mIoU comes from the validation that ends training.
    assert not [s for s in _steps(out) if 'test.py' in s]
    done = {p: os.stat(osp.join(work, p)).st_mtime_ns for p in
            ('stage1/iter_2.pth', 'stage1_val.json', 'stage1/pseudo_masks.json')}
    assert not osp.exists(osp.join(work, 'stage2'))
    out = _pipeline(s1, s2, work)
    for path, mtime in done.items():
        assert os.stat(osp.join(work, path)).st_mtime_ns == mtime, f'{path} was redone'
    assert 'skip training' in out and 'skip pseudo masks' in out
    assert [s for s in _steps(out) if 'test.py' in s and '--tta' not in s] == []
    assert osp.exists(osp.join(work, 'stage2/iter_2.pth'))
    with open(osp.join(work, 'results.json')) as f:
        row = json.load(f)[0]
    assert row['attention']['mIoU'] >= 0 and row['final']['mIoU'] >= 0
    assert 0 <= row['pseudo']['mIoU'] <= 100
    model = row['model']
    assert model['mIoU_tta'] is not None and model['memory_mib'] > 0
    assert model['ms_per_image'] > 0 and model['iters'] == 2
    assert osp.abspath(model['checkpoint']) == osp.join(work, 'stage2', 'iter_2.pth')
    with open(osp.join(work, 'results.md')) as f:
        text = f.read()
    assert '| tiny | ResNetV1c-18 | 80x80 | 2 it |' in text


def test_final_validation_equals_test_of_final_checkpoint(configs, stage1_work, tmp_path):
    """The val figures the pipeline takes from training are tools/test.py's."""
    work = stage1_work
    tested = str(tmp_path / 'tested.json')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/test.py'), configs[0],
                           osp.join(work, 'stage1', 'iter_2.pth'), '--work-dir',
                           str(tmp_path / 'test'), '--metrics-json', tested],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(osp.join(work, 'stage1_val.json')) as f, open(tested) as g:
        from_training, from_test = json.load(f), json.load(g)
    assert from_training['iter'] == 2 and from_training['ms_per_image'] > 0
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert from_training[key] == from_test[key], key


def test_final_val_hook_without_a_timer_writes_the_metrics_alone(demo_root, tmp_path):
    out = tmp_path / 'val.json'
    extra = ("custom_hooks = [dict(type='GAINScheduleHook'), "
             f"dict(type='FinalValMetricsHook', out_file={str(out)!r})]\n"
             "default_hooks = dict(timer=None)")
    cfg = Config.fromfile(tiny_demo_config(str(tmp_path / 'cfg.py'), demo_root, extra=extra))
    cfg.work_dir = str(tmp_path / 'work')
    Runner.from_cfg(cfg).train()
    with open(out) as f:
        metrics = json.load(f)
    assert metrics['iter'] == 2 and 0 <= metrics['mIoU'] <= 100
    assert 'ms_per_image' not in metrics


def test_stage2_trains_on_pseudo_masks_not_ground_truth(configs, stage1_work):
    masks = osp.abspath(osp.join(stage1_work, 'stage1', 'pseudo_masks'))
    cfg = Config.fromfile(configs[1])
    cfg.pseudo_mask_root = masks  # as the pipeline sets it (--cfg-options)
    apply_pseudo_mask_root(cfg)
    cfg.train_dataloader.dataset.pipeline = [  # no augmentation: compare pixel for pixel
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    differs = 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert osp.dirname(info['seg_map_path']) == masks
        loaded = dataset[i]['data_samples'].gt_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(loaded, np.array(Image.open(info['seg_map_path'])))
        truth = info['seg_map_path'].replace(masks, osp.join(cfg.data_root, 'SegmentationClass'))
        differs += not np.array_equal(loaded, np.array(Image.open(truth)))
    assert differs > 0  # the pseudo masks are not the ground truth


def test_stage2_backbone_can_start_from_stage1(configs, stage1_work):
    ckpt = osp.join(stage1_work, 'stage1', 'iter_2.pth')
    cfg = Config.fromfile(configs[1])
    cfg.merge_from_dict(dict(opt.split('=', 1) for opt in backbone_init(ckpt)))
    model = MODELS.build(cfg.model)
    model.init_weights()
    stage1 = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    backbone = model.backbone.state_dict()
    assert backbone
    for name, value in backbone.items():
        torch.testing.assert_close(value, stage1[f'backbone.{name}'], msg=name)


def test_a_run_is_done_when_last_checkpoint_is_final_and_loads(configs, stage1_work, tmp_path):
    """The pipeline's skip rule reads mmengine's ``last_checkpoint``, not a file name."""
    import shutil

    from gain_mmseg.pipeline import PipelinePaths, final_checkpoint

    s1 = configs[0]
    done = PipelinePaths(stage1_work).stage1
    assert final_checkpoint(s1, done, []) == osp.join(done, 'iter_2.pth')
    # A longer schedule in the same folder is not done.
    assert final_checkpoint(s1, done, ['train_cfg.max_iters=4']) is None
    # A moved work dir: last_checkpoint names a path that no longer exists; the moved
    # folder's checkpoint of that name counts.
    moved = str(tmp_path / 'moved')
    shutil.copytree(done, moved, ignore=shutil.ignore_patterns('pseudo_masks*'))
    with open(osp.join(moved, 'last_checkpoint'), 'w') as f:
        f.write('/no/such/folder/iter_2.pth')
    assert final_checkpoint(s1, moved, []) == osp.join(moved, 'iter_2.pth')
    # A final checkpoint cut short by a kill does not count, nor a folder without a run.
    with open(osp.join(moved, 'iter_2.pth'), 'rb') as f:
        head = f.read()[:1000]
    with open(osp.join(moved, 'iter_2.pth'), 'wb') as f:
        f.write(head)
    assert final_checkpoint(s1, moved, []) is None
    assert final_checkpoint(s1, str(tmp_path), []) is None


def test_pseudo_mask_step_fuses_the_attention_the_hook_accumulated(configs, tmp_path):
    """With the hook accumulating attention (OAA), the pipeline's own pseudo-mask step (run
    when the hook's masks are missing) fuses the same folder: the same masks."""
    s1, s2 = configs
    work = str(tmp_path / 'w')
    options = ['--stage1-options', 'custom_hooks.1.accumulate_ratios=[0.5]']
    _pipeline(s1, s2, work, '--skip-stage2', *options)
    masks = osp.join(work, 'stage1', 'pseudo_masks')
    names = sorted(n for n in os.listdir(masks) if n.endswith('.png'))
    by_hook = {n: np.array(Image.open(osp.join(masks, n))) for n in names}
    shutil.rmtree(masks)
    os.remove(masks + '.json')
    out = _pipeline(s1, s2, work, '--skip-stage2', *options)
    step = [s for s in _steps(out) if 'gen_pseudo_labels.py' in s]
    folder = osp.join(work, 'stage1', 'attention_accumulated')
    assert len(step) == 1 and f'--accumulated {folder}' in step[0]
    assert names and sorted(n for n in os.listdir(masks) if n.endswith('.png')) == names
    for name in names:
        np.testing.assert_array_equal(np.array(Image.open(osp.join(masks, name))), by_hook[name])


def test_compare_runs_pairs_pipeline_runs_by_seed(stage1_work, tmp_path):
    """tools/compare_runs.py: each run is paired with the baseline's run of the seed its
    stage 1 trained with (read from the dumped config), whatever order the folders are
    given in; unseeded runs, repeated seeds and seeds without a partner are errors."""
    from gain_mmseg.evaluation.paired_runs import paired_table, run_seed

    def copy(name: str, seed) -> str:
        work = str(tmp_path / name)
        shutil.copytree(stage1_work, work)
        dump = [n for n in os.listdir(osp.join(work, 'stage1')) if n.endswith('.py')]
        with open(osp.join(work, 'stage1', dump[0]), 'a') as f:
            f.write(f'\nrandomness = dict(seed={seed})\n')
        return work

    with pytest.raises(ValueError, match='sets no randomness.seed'):
        run_seed(copy('unseeded', None))
    runs = {}
    for method, gain in (('cam', 0.0), ('gain', 1.0)):
        for seed in (0, 1, 2):
            work = copy(f'{method}{seed}', seed)
            with open(osp.join(work, 'results.json')) as f:
                rows = json.load(f)
            rows[0]['method'] = method
            rows[0]['attention']['mIoU'] = 10.0 + gain * (seed + 1)
            rows[0]['pseudo']['mIoU'] = 20.0 + seed - gain
            with open(osp.join(work, 'results.json'), 'w') as f:
                json.dump(rows, f)
            runs[method, seed] = work
    gain_runs = [runs['gain', s] for s in (2, 0, 1)]
    cam_runs = [runs['cam', s] for s in (0, 1, 2)]
    cmd = [sys.executable, osp.join(REPO, 'tools/compare_runs.py'), '--runs', *gain_runs,
           '--against', *cam_runs]
    table = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    lines = {line.split(' | ')[0]: line for line in table.splitlines()}
    assert lines['| seeds 0, 1, 2'].startswith('| seeds 0, 1, 2 | cam | gain |')
    # Seed by seed +1, +2, +3 in attention: a shuffled pairing would not give these.
    assert lines['| attention mIoU (val, config threshold)'].endswith(
        '| 2.00 ± 0.82 | +1.00 / +2.00 / +3.00 |')
    assert lines['| pseudo-mask mIoU (train: the masks stage 2 trains on)'].endswith(
        '| -1.00 ± 0.00 | -1.00 / -1.00 / -1.00 |')
    # The stage-1-only runs have no stage 2: nothing to pair, and no kept masks row.
    assert lines['| stage 2 mIoU (val)'].endswith('| – | – | – | – |')
    assert "attention's masks" not in table
    with pytest.raises(ValueError, match=r'seeds \[0, 1\], the runs against them seeds'):
        paired_table(gain_runs[1:], cam_runs)
    with pytest.raises(ValueError, match='are both seed 0'):
        paired_table([runs['gain', 0], runs['cam', 0]], cam_runs[:2])


def test_compare_runs_scores_the_attention_alone_where_a_run_kept_ground_truth(
        stage1_work, tmp_path):
    """A GAIN_ext run with keep_pixel_masks writes some images' ground truth as their masks:
    compare_runs scores both runs' masks on disk again over the images neither kept, so
    those images' masks do not count (here: overwritten, the figure does not move)."""
    from gain_mmseg.evaluation.paired_runs import kept_stems, masks_miou, paired_table

    works = {}
    for name, extra in (('cam', ''), ('ext', (
            "pseudo_mask['keep_pixel_masks'] = True\n"
            "train_dataloader['dataset'] = dict(type='PixelSupervisionDataset', num_pixel=5, "
            "dataset=train_dataloader['dataset'])\n"))):
        work = str(tmp_path / name)
        shutil.copytree(stage1_work, work)
        dump = [n for n in os.listdir(osp.join(work, 'stage1')) if n.endswith('.py')]
        with open(osp.join(work, 'stage1', dump[0]), 'a') as f:
            f.write(f'\nrandomness = dict(seed=0)\n{extra}')
        with open(osp.join(work, 'results.json')) as f:
            rows = json.load(f)
        # What made the masks: their evaluation's settings record.
        rows[0]['pseudo']['settings']['keep_pixel_masks'] = name == 'ext'
        with open(osp.join(work, 'results.json'), 'w') as f:
            json.dump(rows, f)
        works[name] = work
    kept = kept_stems(works['ext'])
    assert len(kept) == 5 and kept_stems(works['cam']) == set()
    alone, everything = masks_miou(works['ext'], kept), masks_miou(works['ext'], set())
    for stem in kept:
        path = osp.join(works['ext'], 'stage1', 'pseudo_masks', f'{stem}.png')
        Image.fromarray(np.full_like(np.array(Image.open(path)), 255)).save(path)
    assert masks_miou(works['ext'], kept) == alone
    assert masks_miou(works['ext'], set()) != everything
    table = paired_table([works['ext']], [works['cam']])
    line = [row for row in table.splitlines() if 'attention alone' in row][0]
    assert 'leaving out the 5 images that kept their ground truth' in line
    # The same masks as the CAM copy's on the other images: no difference.
    assert line.endswith(f'| {alone:.2f} ± 0.00 | {alone:.2f} ± 0.00 | 0.00 ± 0.00 | +0.00 |')
