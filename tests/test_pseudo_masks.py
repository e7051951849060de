"""Pseudo masks: generator, atomic resumable writer, evaluation, tool and hook agree."""
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.evaluation import IoUMetric
from PIL import Image

from gain_mmseg.pseudo_masks import (
    AttentionAccumulator,
    PseudoMaskEvaluator,
    PseudoMaskGenerator,
    PseudoMaskWriter,
)
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset

from conftest import REPO, build_tiny, tiny_demo_config


@pytest.fixture(scope='module')
def trained(demo_root, tmp_path_factory):
    """A stage-1 run of 2 iterations whose CAMPseudoLabelHook wrote pseudo masks."""
    work = tmp_path_factory.mktemp('stage1')
    hook = ("pseudo_mask = dict(scales=(1.0, 1.5), flip=True, bg_threshold=0.2)\n"
            "custom_hooks = [dict(type='GAINScheduleHook'), dict(type='CAMPseudoLabelHook')]")
    cfg_path = tiny_demo_config(str(work / 'cfg.py'), demo_root, extra=hook)
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work)
    Runner.from_cfg(cfg).train()
    return cfg_path, str(work)


def _tool(cfg_path, ckpt, out, *extra):
    cmd = [sys.executable, osp.join(REPO, 'tools/gen_pseudo_labels.py'), cfg_path, ckpt,
           '--out', out, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_hook_writes_the_same_masks_as_the_tool(trained, tmp_path):
    cfg_path, work = trained
    hook_dir = osp.join(work, 'pseudo_masks')
    assert osp.exists(hook_dir + '.json')
    out = str(tmp_path / 'tool')
    # No flags: the tool takes the config's pseudo_mask settings, as the hook did; its
    # DataLoader workers read the images the hook read in the main process.
    proc = _tool(cfg_path, osp.join(work, 'iter_2.pth'), out, '--num-workers', '2')
    assert proc.wait() == 0, proc.stderr.read().decode()
    names = sorted(os.listdir(hook_dir))
    assert len([n for n in names if n.endswith('.png')]) == 16
    assert names == sorted(os.listdir(out))
    for name in (n for n in names if n.endswith('.png')):
        np.testing.assert_array_equal(np.array(Image.open(osp.join(hook_dir, name))),
                                      np.array(Image.open(osp.join(out, name))))


def test_interrupted_generation_resumes_without_redoing(trained, tmp_path):
    cfg_path, work = trained
    out = str(tmp_path / 'masks')
    ckpt = osp.join(work, 'iter_2.pth')
    slow = ['--batch-size', '1', '--scales', '1', '2', '3', '4']
    proc = _tool(cfg_path, ckpt, out, *slow)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if osp.isdir(out) and len([n for n in os.listdir(out) if n.endswith('.png')]) >= 3:
            proc.kill()
            break
        time.sleep(0.005)
    proc.wait()
    first = {n: os.stat(osp.join(out, n)).st_mtime_ns for n in os.listdir(out)
             if n.endswith('.png')}
    assert 3 <= len(first) < 16, 'the run was not interrupted part-way'
    rerun = _tool(cfg_path, ckpt, out, *slow)
    assert rerun.wait() == 0, rerun.stderr.read().decode()
    files = [n for n in os.listdir(out) if n != 'made_by.json']
    assert sorted(files) == sorted(f'train_{i:05d}.png' for i in range(16))
    for name in files:
        Image.open(osp.join(out, name)).load()  # decodes: nothing truncated
    for name, mtime in first.items():
        assert os.stat(osp.join(out, name)).st_mtime_ns == mtime  # not regenerated
    straight = str(tmp_path / 'straight')
    proc = _tool(cfg_path, ckpt, straight, *slow)
    assert proc.wait() == 0, proc.stderr.read().decode()
    assert sorted(os.listdir(straight)) == sorted(os.listdir(out))
    for name in files:  # killed and resumed = uninterrupted
        np.testing.assert_array_equal(np.array(Image.open(osp.join(out, name))),
                                      np.array(Image.open(osp.join(straight, name))))


def test_masks_hold_only_the_image_classes(trained, tmp_path):
    cfg_path, work = trained
    out = str(tmp_path / 'band')
    proc = _tool(cfg_path, osp.join(work, 'iter_2.pth'), out, '--ignore-band', '0.1', '0.5')
    assert proc.wait() == 0, proc.stderr.read().decode()
    dataset = build_inference_dataset(Config.fromfile(cfg_path), 'train')
    seen_ignore = False
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        mask = np.array(Image.open(osp.join(out, stem + '.png')))
        gt = np.array(Image.open(info['seg_map_path']))
        assert set(np.unique(mask)) <= set(np.unique(gt)) | {255}
        seen_ignore |= bool((mask == 255).any())
    assert seen_ignore


def test_flip_fusion_is_flip_consistent():
    model = build_tiny().eval()
    gen = PseudoMaskGenerator(model, scales=(1.0, 1.5), flip=True)
    images = torch.randn(2, 3, 48, 40)
    labels = torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool)
    _, _, maps = gen.fused_attention(images, labels)
    _, _, flipped = gen.fused_attention(images.flip(-1), labels)
    assert maps.shape == (3, 48, 40) and maps.max() > 0
    torch.testing.assert_close(flipped, maps.flip(-1), atol=1e-5, rtol=1e-4)


def test_evaluator_matches_hand_computed_iou():
    names = ('background', 'a', 'b')
    gt = torch.tensor([[0, 0, 1, 1], [0, 2, 2, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 2, 0, 0]])
    ev = PseudoMaskEvaluator(names, thresholds=(0.5, ))
    ev.add(pred, gt, torch.zeros_like(gt)[None])
    res = ev.results()
    # background: inter 2 (0,0),(1,0); union |{(0,0),(0,1),(1,0),(1,2)}| = 4
    # a: inter 2, union 3; b: inter 1, union 2
    expected = {'background': 50.0, 'a': 200 / 3, 'b': 50.0}
    for name, value in expected.items():
        assert res['per_class_IoU'][name] == pytest.approx(value)
    assert res['mIoU'] == pytest.approx(np.mean(list(expected.values())))
    # the all-background sweep mask: background IoU 3/7, others 0
    assert res['sweep_mIoU'][0.5] == pytest.approx(100 * (3 / 7) / 3)


def test_kept_images_count_in_the_final_masks_only():
    """An image whose ground truth is its mask (keep_pixel_masks) raises the final masks'
    mIoU; the attention's figures (mIoU_attention, the sweep) are of the other images."""
    torch.manual_seed(2)
    names, thresholds = ('background', 'a', 'b'), (0.3, 0.6)
    images = [(torch.randint(0, 3, (8, 8)), torch.randint(0, 3, (8, 8)),
               torch.randint(0, 3, (2, 8, 8))) for _ in range(3)]
    keeping, written, others = (PseudoMaskEvaluator(names, thresholds, keep=True)
                                for _ in range(3))
    for i, (final, gt, sweep) in enumerate(images):
        kept = i == 0
        keeping.add(gt if kept else final, gt, sweep, kept=kept)
        written.add(gt if kept else final, gt, sweep)
        if not kept:
            others.add(final, gt, sweep)
    res, all_written, rest = keeping.results(), written.results(), others.results()
    assert res['num_kept'] == 1 and res['num_images'] == 3
    assert res['mIoU'] == pytest.approx(all_written['mIoU'])
    assert res['mIoU_attention'] == pytest.approx(rest['mIoU'])
    assert res['sweep_mIoU'] == pytest.approx(rest['sweep_mIoU'])
    assert res['mIoU'] > res['mIoU_attention']
    assert '1 of 3 images kept their ground-truth masks' in keeping.format()
    assert '(the 2 images not kept)' in keeping.format()
    # Every image kept: no sweep and no attention figure, and the report and the hook's log
    # line say what there is instead of failing at the end of a training.
    from gain_mmseg.engine.hooks.cam_pseudo_label_hook import pseudo_mask_log
    everything = PseudoMaskEvaluator(names, thresholds, keep=True)
    everything.add(images[0][1], images[0][1], images[0][2], kept=True)
    res = everything.results()
    assert res['best_mIoU'] is None and res['mIoU_attention'] is None and res['mIoU'] == 100
    assert 'sweep' not in everything.format()
    assert pseudo_mask_log(res) == ('pseudo-mask mIoU 100.00; 1 of 1 images kept their '
                                    "ground-truth masks (pixel-supervised); the attention's "
                                    'masks of the other 0: mIoU –')


def test_a_record_older_than_a_setting_still_matches(tmp_path):
    """made_by.json written before a setting existed holds it at its default: resuming that
    folder with the default is no change, and a real change names the setting."""
    import json

    from gain_mmseg.pseudo_masks.generate import check_provenance
    model = torch.nn.Linear(2, 2)
    check_provenance(str(tmp_path), model, {'bg_threshold': 0.3}, overwrite=False)
    path = tmp_path / 'made_by.json'
    record = json.loads(path.read_text())
    del record['settings']['keep_pixel_masks']  # as written before the setting
    path.write_text(json.dumps(record))
    check_provenance(str(tmp_path), model, {'bg_threshold': 0.3, 'keep_pixel_masks': False},
                     overwrite=False)
    with pytest.raises(ValueError, match=r'different settings \(keep_pixel_masks\)'):
        check_provenance(str(tmp_path), model, {'bg_threshold': 0.3, 'keep_pixel_masks': True},
                         overwrite=False)


def test_evaluator_areas_equal_mmseg_iou_metric():
    torch.manual_seed(0)
    ev = PseudoMaskEvaluator(('background', 'a', 'b', 'c'), thresholds=())
    gt = torch.randint(0, 4, (3, 20, 24))
    gt[:, :3] = 255
    gt[:, -1, :5] = 7  # out of the class range, not ignored: counts in no class
    preds = torch.randint(0, 4, (3, 20, 24))
    preds[:, :, :4] = 255  # an ignore band
    for p, g in zip(preds, gt):
        expected = torch.stack(IoUMetric.intersect_and_union(p, g, 4, 255)).double()
        torch.testing.assert_close(ev.areas_of(p[None], g)[0], expected)
    stacked = ev.areas_of(preds, gt[0])
    torch.testing.assert_close(stacked[1], ev.areas_of(preds[1:2], gt[0])[0])


def test_evaluators_of_two_shares_merge_into_the_whole():
    torch.manual_seed(1)
    names, thresholds = ('background', 'a', 'b'), (0.3, 0.6)
    images = [(torch.randint(0, 3, (8, 8)), torch.randint(0, 3, (8, 8)),
               torch.randint(0, 3, (2, 8, 8))) for _ in range(4)]
    whole, left, right = (PseudoMaskEvaluator(names, thresholds) for _ in range(3))
    for i, (final, gt, sweep) in enumerate(images):
        whole.add(final, gt, sweep)
        (left if i % 2 else right).add(final, gt, sweep)
    total = PseudoMaskEvaluator.total([left, right])
    assert total.results() == whole.results() and total.num_images == 4
    # An image kept as its ground truth counts once in the merge too.
    kept = [PseudoMaskEvaluator(names, thresholds, keep=True) for _ in range(2)]
    kept[0].add(images[0][1], images[0][1], images[0][2], kept=True)
    kept[1].add(*images[1])
    assert PseudoMaskEvaluator.total(kept).results()['num_kept'] == 1
    # Each part counts once: gathered copies of every rank, the own one included.
    assert PseudoMaskEvaluator.total([left]).num_images == left.num_images == 2
    with pytest.raises(ValueError, match='2 thresholds'):
        whole.add(final, gt, sweep[:1])


def test_sweep_labels_equal_the_argmax_at_every_threshold():
    model = build_tiny().eval()
    gen = PseudoMaskGenerator(model)
    torch.manual_seed(2)
    # Values on a coarse grid, so that ties between classes and with thresholds occur.
    maps = torch.randint(0, 11, (3, 16, 16)).float() / 10
    classes = torch.tensor([3, 1, 4])
    thresholds = (0.0, 0.3, 0.5, 0.7, 1.0)
    sweep = gen.sweep_labels(maps, classes, thresholds)
    for t, labels in zip(thresholds, sweep):
        keys, scores = gen.scores(maps, classes, t)
        assert torch.equal(labels, keys[scores.argmax(0)])
    assert len(set(sweep[2].unique().tolist())) == 4
    empty = gen.sweep_labels(maps[:0], classes[:0], thresholds)
    assert empty.shape == (5, 16, 16) and (empty == model.decode_head.background_index).all()


def test_writer_is_atomic_and_cleans_leftovers(tmp_path):
    out = str(tmp_path)
    open(osp.join(out, '.x.png.tmp-123'), 'wb').write(b'half')
    writer = PseudoMaskWriter(out, [[0, 0, 0], [255, 0, 0]], save_maps=True)
    assert not osp.exists(osp.join(out, '.x.png.tmp-123'))
    mask = np.array([[0, 1], [255, 1]], dtype=np.uint8)
    writer.write('x', mask, np.ones((1, 2, 2), np.float32), np.array([1]))
    assert writer.done('x') and sorted(os.listdir(out)) == ['maps', 'x.png']
    np.testing.assert_array_equal(writer.read('x'), mask)
    assert Image.open(writer.path('x')).mode == 'P'
    assert np.load(osp.join(out, 'maps', 'x.npz'))['classes'].tolist() == [1]


def test_crf_snaps_labels_to_image_edges():
    from gain_mmseg.pseudo_masks.crf import crf_refine

    image = np.zeros((32, 32, 3), np.uint8)
    image[:, 16:] = 255  # object: the right half
    labels = np.zeros((32, 32), np.int64)
    labels[:, 12:28] = 1  # a blurry attention blob, offset from the edge
    refined = crf_refine(image, labels, 2)
    assert (refined[:, 18:] == 1).mean() > 0.9
    assert (refined[:, :14] == 0).mean() > 0.9
    assert (refined != labels).sum() > 0


def test_generator_with_crf_keeps_only_image_classes():
    model = build_tiny().eval()
    gen = PseudoMaskGenerator(model, scales=(1.0, ), flip=False, crf=True)
    maps = torch.rand(2, 16, 16)
    mask = gen.mask(maps, torch.tensor([1, 3]), np.zeros((16, 16, 3), np.uint8))
    assert set(mask.unique().tolist()) <= {0, 1, 3}


def test_a_crf_run_says_its_sweep_is_before_the_crf(trained, tmp_path, capsys):
    """With the CRF the final masks are refined and the sweep's are not: the report, the
    JSON and the results table say so, so that the sweep's best is not read as the final
    masks' (it is usually below them)."""
    from gain_mmseg.apis import init_stage1_model
    from gain_mmseg.evaluation.results_table import format_row
    from gain_mmseg.pseudo_masks import generate_pseudo_masks

    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    model = init_stage1_model(cfg, osp.join(work, 'iter_2.pth'))
    common = dict(evaluate=True, progress=False, scales=(1.0, ), flip=False,
                  bg_threshold=0.2)
    plain = generate_pseudo_masks(model, cfg, str(tmp_path / 'plain'), **common)
    assert 'before the CRF' not in capsys.readouterr().out
    refined = generate_pseudo_masks(model, cfg, str(tmp_path / 'crf'), crf=True, **common)
    out = capsys.readouterr().out
    assert 'sweep (masks before the CRF)' in out and refined['crf'] and not plain['crf']
    # Same maps, same sweep: only the final masks differ.
    assert refined['sweep_mIoU'] == plain['sweep_mIoU']
    assert '(before the CRF) |' in format_row(dict(method='m', pseudo=refined))
    assert '(before the CRF)' not in format_row(dict(method='m', pseudo=plain))
    merged = PseudoMaskEvaluator.total([PseudoMaskEvaluator(('a', ), crf=True)])
    assert merged.crf


def test_pixel_supervised_images_keep_their_ground_truth(trained, tmp_path, capsys):
    """keep_pixel_masks: GAIN_ext's pixel-labelled images are written with their ground
    truth (stage 2 trains on the labels the user has), every other image with the same
    mask as without it; the report scores the attention's masks of the others apart."""
    from gain_mmseg.apis import init_stage1_model
    from gain_mmseg.evaluation.results_table import format_row
    from gain_mmseg.pseudo_masks import generate_pseudo_masks

    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    cfg.train_dataloader.dataset = dict(type='PixelSupervisionDataset', num_pixel=5,
                                        dataset=cfg.train_dataloader.dataset)
    model = init_stage1_model(cfg, osp.join(work, 'iter_2.pth'))
    common = dict(evaluate=True, progress=False, scales=(1.0, ), flip=False,
                  bg_threshold=0.2)
    plain = generate_pseudo_masks(model, cfg, str(tmp_path / 'plain'), **common)
    kept = generate_pseudo_masks(model, cfg, str(tmp_path / 'kept'), keep_pixel_masks=True,
                                 **common)
    report = capsys.readouterr().out
    dataset = build_inference_dataset(cfg, keep_pixel_supervision=True)
    stems = dataset.pixel_stems
    assert len(stems) == 5 and kept['num_kept'] == 5 and plain['num_kept'] == 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        mask = np.array(Image.open(tmp_path / 'kept' / f'{stem}.png'))
        if stem in stems:
            np.testing.assert_array_equal(mask, np.array(Image.open(info['seg_map_path'])))
        else:
            np.testing.assert_array_equal(
                mask, np.array(Image.open(tmp_path / 'plain' / f'{stem}.png')))
    assert kept['mIoU'] > plain['mIoU']
    assert kept['mIoU_attention'] < kept['mIoU']
    assert '5 of 16 images kept their ground-truth masks' in report
    assert '(5 ground-truth masks kept; the others' in format_row(dict(method='m', pseudo=kept))
    # Which images kept their ground truth is part of what made the folder: another draw of
    # them does not add to it.
    assert kept['settings']['kept_images'] == sorted(stems)
    cfg.train_dataloader.dataset.seed = 1
    with pytest.raises(ValueError, match='kept_images'):
        generate_pseudo_masks(model, cfg, str(tmp_path / 'kept'), keep_pixel_masks=True,
                              **common)


def test_hook_refuses_to_train_when_its_crf_cannot_run(monkeypatch):
    """A config that labels with the CRF fails before training, naming the package, when
    pydensecrf2 is missing: not after the whole training, at the pseudo masks."""
    from types import SimpleNamespace

    from gain_mmseg.engine.hooks import CAMPseudoLabelHook

    monkeypatch.setitem(sys.modules, 'pydensecrf', None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, 'pydensecrf.densecrf', None)
    runner = SimpleNamespace(cfg=Config(dict(pseudo_mask=dict(crf=True))), iter=0,
                             max_iters=10, work_dir='unused')
    with pytest.raises(ImportError, match='pseudo_mask.crf=True.*pip install pydensecrf2'):
        CAMPseudoLabelHook().before_train(runner)
    runner.cfg = Config(dict(pseudo_mask=dict(crf=False)))
    CAMPseudoLabelHook().before_train(runner)  # without the CRF nothing is needed


def test_ignore_band_marks_unsure_pixels_with_the_heads_ignore_index():
    model = build_tiny().eval()
    model.decode_head.ignore_index = 254  # not mmseg's usual 255: the value must follow it
    gen = PseudoMaskGenerator(model, scales=(1.0, ), flip=False, ignore_band=(0.2, 0.6))
    maps = torch.zeros(1, 4, 4)
    maps[0, 0] = 0.9  # sure foreground
    maps[0, 1] = 0.4  # foreground at 0.2, background at 0.6
    mask = gen.mask(maps, torch.tensor([3]))
    assert (mask[0] == 3).all() and (mask[1] == 254).all() and (mask[2:] == 0).all()


def test_visualize_attention_tool_draws_a_grid(trained, tmp_path):
    cfg_path, work = trained
    out = str(tmp_path / 'grid.png')
    cmd = [sys.executable, osp.join(REPO, 'tools/visualize_attention.py'), cfg_path,
           osp.join(work, 'iter_2.pth'), '--out', out, '--num', '3', '--max-classes', '2']
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid = np.array(Image.open(out))
    # 3 rows and 5 columns (image, 2 heat maps, pseudo mask, truth) of 128 px cells
    assert grid.shape == (18 + 3 * 130, 5 * 130, 3)
    assert grid[18:146, :128].std() > 0  # the image cell is not blank


def test_attention_panels_show_the_masks_the_generator_writes(trained):
    """The pictures' pseudo masks come from the generator's own path, not a copy of it."""
    from gain_mmseg.apis import init_stage1_model
    from gain_mmseg.pseudo_masks import pseudo_mask_settings
    from gain_mmseg.visualization import attention_panels

    cfg_path, work = trained
    cfg = Config.fromfile(cfg_path)
    model = init_stage1_model(cfg, osp.join(work, 'iter_2.pth'))
    generator = PseudoMaskGenerator(model, **pseudo_mask_settings(cfg))
    dataset = build_inference_dataset(cfg, 'train')
    for panel in attention_panels(generator, dataset, [0, 5, 11]):
        stem = osp.splitext(osp.basename(panel['img_path']))[0]
        written = np.array(Image.open(osp.join(work, 'pseudo_masks', f'{stem}.png')))
        np.testing.assert_array_equal(panel['mask'], written)
        assert panel['maps'].shape[0] == len(panel['classes']) > 0


def test_attention_visualization_hook_sends_heat_maps(demo_root, tmp_path):
    hook = ("custom_hooks = [dict(type='GAINScheduleHook'), "
            "dict(type='AttentionVisualizationHook', draw=True, interval=1)]")
    cfg = Config.fromfile(tiny_demo_config(str(tmp_path / 'cfg.py'), demo_root, extra=hook))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer.name = f'visualizer_{tmp_path.name}'  # a fresh one, saving under work_dir
    runner = Runner.from_cfg(cfg)
    runner.val()
    drawn = [n for _, _, files in os.walk(cfg.work_dir) for n in files
             if n.startswith('attention') and n.endswith('.png')]
    assert len(drawn) == 2  # 8 val images, batches of 4, one strip per batch


def test_a_folder_made_by_other_settings_is_not_mixed_into(trained, tmp_path):
    """Existing masks count as done only if the same model and settings made them."""
    cfg_path, work = trained
    out, ckpt = str(tmp_path / 'masks'), osp.join(work, 'iter_2.pth')
    assert _tool(cfg_path, ckpt, out, '--scales', '1').wait() == 0
    other = _tool(cfg_path, ckpt, out, '--scales', '1', '--bg-threshold', '0.9')
    assert other.wait() != 0
    assert 'made with different settings' in other.stderr.read().decode()
    again = _tool(cfg_path, ckpt, out, '--scales', '1', '--bg-threshold', '0.9', '--overwrite')
    assert again.wait() == 0


def test_accumulator_keeps_the_max_and_names_a_foreign_file(tmp_path):
    acc = AttentionAccumulator(str(tmp_path / 'acc'))
    classes = torch.tensor([3, 7])
    first = torch.rand(2, 5, 6)
    second = torch.rand(2, 5, 6)
    torch.testing.assert_close(acc.fuse('a', classes, first, update=True), first)
    fused = acc.fuse('a', classes, second, update=True)
    torch.testing.assert_close(fused, torch.maximum(first, second), atol=1e-3, rtol=0)
    # Without update the stored maxima stay.
    acc.fuse('a', classes, torch.ones(2, 5, 6))
    torch.testing.assert_close(torch.from_numpy(acc.read('a')[1]), fused, atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match=r'a\.npz holds maps of classes \[3, 7\]'):
        acc.fuse('a', torch.tensor([3]), first[:1])
    with open(acc.path('b'), 'wb') as f:
        f.write(b'not a zip')
    with pytest.raises(ValueError, match=r'b\.npz: not an accumulated-attention file'):
        acc.fuse('b', classes, first)


def test_accumulated_attention_is_the_max_over_training(demo_root, tmp_path):
    """OAA: the hook stores the attention at the named point of training, the masks label
    the max of it and the final maps (as the tool does with --accumulated), and the training
    itself is the one without accumulation."""
    runs = {}
    for name, ratios in (('plain', None), ('oaa', (0.5, ))):
        work = tmp_path / name
        work.mkdir()
        hook = ("pseudo_mask = dict(scales=(1.0, ), flip=True, bg_threshold=0.2)\n"
                "custom_hooks = [dict(type='GAINScheduleHook'), "
                f"dict(type='CAMPseudoLabelHook', accumulate_ratios={ratios!r})]\n"
                "default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=2), "
                "logger=dict(interval=1))")
        cfg_path = tiny_demo_config(str(work / 'cfg.py'), demo_root, max_iters=4, extra=hook)
        if ratios:  # an earlier run's maps: a run from iteration 0 must not fuse them
            AttentionAccumulator(str(work / 'attention_accumulated')).fuse(
                'train_00000', torch.tensor([9]), torch.ones(1, 3, 3), update=True)
        cfg = Config.fromfile(cfg_path)
        cfg.work_dir = str(work)
        Runner.from_cfg(cfg).train()
        runs[name] = cfg_path, str(work)
    plain = torch.load(osp.join(runs['plain'][1], 'iter_4.pth'), map_location='cpu')
    oaa = torch.load(osp.join(runs['oaa'][1], 'iter_4.pth'), map_location='cpu')
    for key, value in plain['state_dict'].items():  # accumulating does not change training
        torch.testing.assert_close(oaa['state_dict'][key], value, rtol=0, atol=0)

    cfg_path, work = runs['oaa']
    folder = osp.join(work, 'attention_accumulated')
    assert sorted(os.listdir(folder)) == sorted(f'train_{i:05d}.npz' for i in range(16))
    # The stored maps are the model's attention at iteration 2 (half of 4).
    cfg = Config.fromfile(cfg_path)
    from gain_mmseg.apis import init_stage1_model
    from gain_mmseg.pseudo_masks.generator import _stem
    model = init_stage1_model(cfg, osp.join(work, 'iter_2.pth'), device='cpu')
    generator = PseudoMaskGenerator(model, scales=(1.0, ), flip=True)
    dataset = build_inference_dataset(cfg, 'train')
    items = [dataset[i] for i in range(4)]
    acc = AttentionAccumulator(folder)
    for item, (_, classes, maps) in zip(items, generator.image_attention(items)):
        stored_classes, stored = acc.read(_stem(item))
        assert stored_classes.tolist() == classes.tolist()
        np.testing.assert_allclose(stored, maps.numpy(), atol=1e-3)

    # The hook's masks = the tool's with --accumulated; without it the foreground is smaller.
    final = osp.join(work, 'iter_4.pth')
    with_acc, without = str(tmp_path / 'with'), str(tmp_path / 'without')
    proc = _tool(cfg_path, final, with_acc, '--accumulated', folder)
    assert proc.wait() == 0, proc.stderr.read().decode()
    proc = _tool(cfg_path, final, without)
    assert proc.wait() == 0, proc.stderr.read().decode()
    grew = False
    for name in (n for n in os.listdir(with_acc) if n.endswith('.png')):
        hook_mask = np.array(Image.open(osp.join(work, 'pseudo_masks', name)))
        acc_mask = np.array(Image.open(osp.join(with_acc, name)))
        own_mask = np.array(Image.open(osp.join(without, name)))
        np.testing.assert_array_equal(hook_mask, acc_mask)
        assert ((own_mask != 0) <= (acc_mask != 0)).all()  # max: the foreground only grows
        grew |= bool(((acc_mask != 0) & (own_mask == 0)).any())
    assert grew, 'the maps of iteration 2 added no foreground anywhere'
    proc = _tool(cfg_path, final, str(tmp_path / 'x'), '--accumulated', str(tmp_path / 'no'))
    assert proc.wait() != 0
    assert 'accumulated attention folder' in proc.stderr.read().decode()
