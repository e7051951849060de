"""Demo digits dataset: the generator's files and their loading through mmseg."""
import json
from pathlib import Path
from typing import Dict

import demo_digits as demo_generator  # tools/dataset_converters (pytest.ini)
import numpy as np
import pytest
from demo_digits import make_demo_dataset
from PIL import Image

from gain_mmseg.datasets.demo_digits import DemoDigitsDataset

SMALL = dict(num_train=12, num_val=6, image_size=64, seed=0)
TINY = dict(num_train=4, num_val=2, image_size=64)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('demo') / 'digits'
    make_demo_dataset(str(root), **SMALL)
    return root


def read_split(root: Path, split: str) -> list:
    return (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()


def file_bytes(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def test_masks_hold_visible_classes(demo_root: Path) -> None:
    num_classes = len(DemoDigitsDataset.METAINFO['classes'])
    classes_per_image = []
    for png in sorted((demo_root / 'SegmentationClass').glob('*.png')):
        label_img = Image.open(png)
        assert label_img.mode == 'P'
        label = np.array(label_img)
        image = np.array(Image.open(demo_root / 'JPEGImages' / f'{png.stem}.jpg'))
        assert label.shape == (64, 64) and image.shape == (64, 64, 3)
        assert label.max() < num_classes
        values, counts = np.unique(label, return_counts=True)
        foreground = values != 0
        assert foreground.any()
        assert np.all(counts[foreground] >= demo_generator.MIN_VISIBLE_PIXELS)
        classes_per_image.append(int(foreground.sum()))
    assert max(classes_per_image) >= 2


def test_split_files_match_the_files(demo_root: Path) -> None:
    train, val = read_split(demo_root, 'train'), read_split(demo_root, 'val')
    assert (len(train), len(val)) == (SMALL['num_train'], SMALL['num_val'])
    assert not set(train) & set(val)
    for folder, suffix in (('JPEGImages', '.jpg'), ('SegmentationClass', '.png')):
        stems = {p.stem for p in (demo_root / folder).iterdir()}
        assert all(p.suffix == suffix for p in (demo_root / folder).iterdir())
        assert stems == set(train) | set(val)


def test_digit_pools_are_disjoint() -> None:
    train, val = demo_generator._split_digits(np.random.default_rng(0))
    for train_glyphs, val_glyphs in zip(train, val):
        # sklearn's digits hold no exact duplicates, so equal bytes would mean a shared sample.
        assert not {g.tobytes() for g in train_glyphs} & {g.tobytes() for g in val_glyphs}


def test_deterministic_per_seed(tmp_path: Path) -> None:
    first, again, other = (tmp_path / name for name in ('first', 'again', 'other'))
    make_demo_dataset(str(first), seed=0, **TINY)
    make_demo_dataset(str(again), seed=0, **TINY)
    make_demo_dataset(str(other), seed=1, **TINY)
    assert file_bytes(first) == file_bytes(again)
    different = file_bytes(other)
    assert any(different[name] != data for name, data in file_bytes(first).items()
               if name.endswith(('.jpg', '.png')))


def test_second_call_reuses_the_dataset(demo_root: Path) -> None:
    mtimes = {p: p.stat().st_mtime_ns for p in demo_root.rglob('*')}
    meta = make_demo_dataset(str(demo_root), **SMALL)
    assert meta['params'] == {**SMALL, 'clutter': 0, 'varied_contrast': False}
    assert {p: p.stat().st_mtime_ns for p in demo_root.rglob('*')} == mtimes


def test_other_arguments_need_overwrite(tmp_path: Path) -> None:
    root = tmp_path / 'digits'
    make_demo_dataset(str(root), seed=0, **TINY)
    with pytest.raises(FileExistsError):
        make_demo_dataset(str(root), seed=1, **TINY)
    meta = make_demo_dataset(str(root), seed=1, overwrite=True, **TINY)
    assert meta['params']['seed'] == 1
    assert [p.name for p in tmp_path.iterdir()] == ['digits']


def test_older_format_is_replaced(tmp_path: Path) -> None:
    root = tmp_path / 'digits'
    make_demo_dataset(str(root), seed=0, **TINY)
    meta_file = root / 'meta.json'
    meta = json.loads(meta_file.read_text())
    meta['format_version'] = demo_generator.FORMAT_VERSION - 1
    meta_file.write_text(json.dumps(meta))
    assert make_demo_dataset(str(root), seed=0, **TINY)['format_version'] == \
        demo_generator.FORMAT_VERSION
    assert json.loads(meta_file.read_text())['format_version'] == demo_generator.FORMAT_VERSION


def stroke_brightness(root: Path) -> np.ndarray:
    """Median grey level of the digit pixels of each image."""
    medians = []
    for png in sorted((root / 'SegmentationClass').glob('*.png')):
        grey = np.array(Image.open(root / 'JPEGImages' / f'{png.stem}.jpg')).mean(axis=2)
        medians.append(np.median(grey[np.array(Image.open(png)) > 0]))
    return np.array(medians)


def test_strokes_contrast_strongly_unless_varied(demo_root: Path, tmp_path: Path) -> None:
    varied = tmp_path / 'varied'
    make_demo_dataset(str(varied), varied_contrast=True, **SMALL)
    # Soft stroke edges and small digits pull the medians of a few images toward grey.
    strong = np.abs(stroke_brightness(demo_root) - 127.5)
    assert np.median(strong) > 95
    assert np.median(strong) > np.median(np.abs(stroke_brightness(varied) - 127.5)) + 20


@pytest.mark.parametrize('seed', range(5))
def test_clutter_paints_dark_strokes_on_a_bright_image(seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = np.full((80, 80, 3), 200, np.float32)
    demo_generator._draw_clutter(rng, image, 4, demo_generator._contrast_colour)
    painted = (image < 100).all(-1)  # covered by a stroke (near black: 20 ± 15)
    assert 5 <= painted.sum() <= 0.5 * painted.size
    assert (image <= 200).all()  # strokes only darken a bright background


def test_clutter_option_reaches_every_image(tmp_path: Path) -> None:
    calls = []
    original = demo_generator._draw_clutter
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_generator, '_draw_clutter',
                      lambda *args: calls.append(1) or original(*args))
        make_demo_dataset(str(tmp_path / 'cluttered'), seed=0, clutter=4, **TINY)
    assert len(calls) == TINY['num_train'] + TINY['num_val']


def test_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise RuntimeError('disk full')

    monkeypatch.setattr(demo_generator, '_save_label', fail)
    with pytest.raises(RuntimeError):
        make_demo_dataset(str(tmp_path / 'digits'), seed=0, **TINY)
    assert list(tmp_path.iterdir()) == []


def test_mmseg_loads_the_masks(demo_root: Path) -> None:
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    register_all_modules()
    dataset = DATASETS.build(dict(
        type='DemoDigitsDataset',
        data_root=str(demo_root),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    assert len(dataset) == SMALL['num_train']
    assert dataset.metainfo['classes'] == DemoDigitsDataset.METAINFO['classes']
    for index in range(3):
        packed = dataset[index]
        sample = packed['data_samples']
        png = Path(sample.seg_map_path)
        assert png.stem == read_split(demo_root, 'train')[index]
        assert tuple(packed['inputs'].shape) == (3, 64, 64)
        np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), np.array(Image.open(png)))
