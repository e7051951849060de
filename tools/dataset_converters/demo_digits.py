"""Generate the demo digits dataset: handwritten digits on crops of real photographs.

    python tools/dataset_converters/demo_digits.py --out data/demo [--num-train 3000]

A tool, not part of the library: it needs scikit-learn and scikit-image (``pip install -e
.[demo]``); the library only registers the dataset class (``DemoDigitsDataset``).

Several classes share an image and occlude each other, and the digits are large, so a CAM
that fires on one discriminative part covers little of its object. By default the strokes
contrast strongly with the photograph: a narrow network trained from scratch for a few minutes
on 2 CPU cores must be able to learn the digits' shapes, or its attention means nothing on
images it has not memorised (measured: with varied contrast and clutter strokes, its val
classification mAP stays at chance). ``clutter`` and ``varied_contrast`` make the task harder
for larger budgets.
"""
import argparse
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata
from sklearn.datasets import load_digits, load_sample_images

from gain_mmseg.datasets.demo_digits import DemoDigitsDataset

# Bump when the rendering changes, so an old dataset on disk is not mistaken for a current one.
FORMAT_VERSION = 2
SPLITS = ('train', 'val')
# Colour photographs bundled in the scikit-image wheel; the others need a pooch download.
SKIMAGE_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'hubble_deep_field',
                  'immunohistochemistry', 'retina', 'rocket', 'stereo_motorcycle')
NUM_DIGITS = 10
VAL_DIGIT_FRACTION = 0.3
DIGITS_PER_IMAGE_P = (0.15, 0.38, 0.35, 0.12)  # for 1, 2, 3, 4 digits
CLASSES_PER_IMAGE_P = (0.25, 0.40, 0.35)  # for 1, 2, 3 distinct classes (capped by digits)
DIGIT_SIDE_RANGE = (0.35, 0.60)  # side of the 8x8 digit cell, as a fraction of the image side
STROKE_THRESHOLD = 0.35  # on the upscaled digit intensity in [0, 1]
# Alpha ramps from 0 to 1 over this much intensity above the threshold: soft edges in the
# image, while alpha > 0 exactly where the label says "digit".
EDGE_SOFTNESS = 0.15
MAX_ROTATION_DEG = 15.0
MIN_VISIBLE_PIXELS = 20
# A digit must keep this fraction of its own strokes visible, or it is no longer recognisable.
MIN_VISIBLE_FRACTION = 0.5
PLACEMENT_ATTEMPTS = 30
MIN_BACKGROUND_STD = 12.0  # rejects flat crops (retina's black border, empty sky)


def make_demo_dataset(out_dir: str, num_train: int = 3000, num_val: int = 100,
                      image_size: int = 80, seed: int = 0, clutter: int = 0,
                      varied_contrast: bool = False, overwrite: bool = False) -> dict:
    """Write the demo dataset in Pascal VOC layout, atomically and idempotently.

    Writes ``JPEGImages/<stem>.jpg`` (RGB uint8, image_size x image_size),
    ``SegmentationClass/<stem>.png`` (palette PNG, uint8 class indices: 0 = background,
    ``d + 1`` = digit ``d``), ``ImageSets/Segmentation/{train,val}.txt`` and ``meta.json``.
    The output depends only on the arguments, byte for byte; image ``i`` of a split does not
    depend on the split's size. Train and val use disjoint handwritten digit samples.
    ``clutter`` is the most non-digit strokes (lines, arcs, blobs; labelled background) drawn
    per image, and ``varied_contrast`` draws stroke colours from dark, bright and
    background-shifted ones instead of the strongest contrast with the photograph.

    If ``out_dir`` already holds a dataset made with the same arguments, it is returned as is.
    A dataset written by an older version of this generator is replaced; any other non-empty
    ``out_dir`` only when ``overwrite`` is True.

    Returns:
        The content of ``meta.json``: parameters, classes and per-split counts.

    Raises:
        FileExistsError: ``out_dir`` holds something else and ``overwrite`` is False.
        ValueError: counts are negative or ``image_size`` is below 32.
    """
    if num_train < 0 or num_val < 0 or clutter < 0 or image_size < 32:
        raise ValueError('need num_train, num_val, clutter >= 0 and image_size >= 32')
    out = Path(out_dir)
    params = dict(num_train=num_train, num_val=num_val, image_size=image_size, seed=seed,
                  clutter=clutter, varied_contrast=varied_contrast)
    existing = _matching_meta(out, params)
    if existing is not None and not overwrite:
        return existing
    if out.exists() and any(out.iterdir()) and not (overwrite or _older_format(out)):
        raise FileExistsError(f'{out} holds other data; pass overwrite=True to replace it')
    out.parent.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its 0700 mode would carry over to the finished dataset.
    tmp = out.parent / f'.{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'
    tmp.mkdir()
    try:
        meta = _generate(tmp, params)
        return _move_into_place(tmp, out, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _matching_meta(out: Path, params: dict) -> Optional[dict]:
    """``meta.json`` of ``out`` if it was written by this format with these parameters."""
    try:
        meta = json.loads((out / 'meta.json').read_text())
    except (OSError, ValueError):
        return None
    if meta.get('format_version') == FORMAT_VERSION and meta.get('params') == params:
        return meta
    return None


def _older_format(out: Path) -> bool:
    """Whether ``out`` holds a demo dataset of an earlier ``FORMAT_VERSION``."""
    try:
        version = json.loads((out / 'meta.json').read_text()).get('format_version')
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(version, int) and version < FORMAT_VERSION


def _move_into_place(tmp: Path, out: Path, meta: dict) -> dict:
    """Rename the finished ``tmp`` to ``out``, replacing whatever ``out`` held."""
    old = tmp.with_name(tmp.name + '-old')
    if out.exists():
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        # A concurrent call may have put the same dataset in place between our rename calls.
        if _matching_meta(out, meta['params']) is None:
            raise
    shutil.rmtree(old, ignore_errors=True)
    return meta


def _generate(root: Path, params: dict) -> dict:
    """Render both splits into ``root`` and write ``meta.json``; returns the meta dict."""
    # Independent streams: the digit split, and each split's images, do not shift when
    # another part's size changes.
    split_seq, *image_seqs = np.random.SeedSequence(params['seed']).spawn(1 + len(SPLITS))
    pools = _split_digits(np.random.default_rng(split_seq))
    photos = _load_photos()
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True)
    counts = {}
    for split, seq, split_pools in zip(SPLITS, image_seqs, pools):
        num = params[f'num_{split}']
        counts[split] = _write_split(root, split, seq.spawn(num), photos, split_pools, params)
    meta = dict(format_version=FORMAT_VERSION, params=params,
                classes=list(DemoDigitsDataset.METAINFO['classes']),
                backgrounds=list(SKIMAGE_PHOTOS) + ['sklearn china', 'sklearn flower'],
                splits=counts)
    (root / 'meta.json').write_text(json.dumps(meta, indent=2, sort_keys=True) + '\n')
    return meta


def _write_split(root: Path, split: str, seqs: Sequence[np.random.SeedSequence],
                 photos: List[np.ndarray], pools: List[np.ndarray], params: dict) -> dict:
    """Render and save one split's images, masks and split file; returns its counts."""
    images_per_class = np.zeros(len(DemoDigitsDataset.METAINFO['classes']), dtype=np.int64)
    stems = []
    for i, seq in enumerate(seqs):
        stem = f'{split}_{i:05d}'
        image, label = _render_image(np.random.default_rng(seq), photos, pools, params)
        Image.fromarray(image).save(root / 'JPEGImages' / f'{stem}.jpg', quality=95)
        _save_label(label, root / 'SegmentationClass' / f'{stem}.png')
        images_per_class[np.unique(label)] += 1
        stems.append(stem)
    split_file = root / 'ImageSets' / 'Segmentation' / f'{split}.txt'
    split_file.write_text(''.join(f'{stem}\n' for stem in stems))
    return dict(images=len(stems), images_per_class=images_per_class.tolist())


def _save_label(label: np.ndarray, path: Path) -> None:
    """Save a uint8 (H, W) class-index map as a palette PNG, like VOC's SegmentationClass."""
    png = Image.fromarray(label)
    png.putpalette([c for colour in DemoDigitsDataset.METAINFO['palette'] for c in colour])
    png.save(path)


def _load_photos() -> List[np.ndarray]:
    """Background photographs, each RGB uint8 (H, W, 3)."""
    loaded = [getattr(skdata, name)() for name in SKIMAGE_PHOTOS]
    # stereo_motorcycle is a (left, right, disparity) triple; its left view is the photo.
    photos = [item[0] if isinstance(item, tuple) else item for item in loaded]
    photos += load_sample_images().images
    return [np.ascontiguousarray(photo[..., :3]) for photo in photos]


def _split_digits(rng: np.random.Generator) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Split sklearn's digits per class into disjoint train and val pools.

    Returns:
        (train, val): each a list indexed by digit of float32 arrays (N, 8, 8) in [0, 1].
    """
    digits = load_digits()
    glyphs = (digits.images / 16.0).astype(np.float32)
    train, val = [], []
    for digit in range(NUM_DIGITS):
        idx = rng.permutation(np.flatnonzero(digits.target == digit))
        num_val = round(len(idx) * VAL_DIGIT_FRACTION)
        val.append(glyphs[idx[:num_val]])
        train.append(glyphs[idx[num_val:]])
    return train, val


def _render_image(rng: np.random.Generator, photos: List[np.ndarray], pools: List[np.ndarray],
                  params: dict) -> Tuple[np.ndarray, np.ndarray]:
    """One sample: RGB uint8 (S, S, 3) image and uint8 (S, S) class-index map, S the
    ``image_size`` of ``params``."""
    image = _background(rng, photos, params['image_size'])
    colour = _varied_colour if params['varied_contrast'] else _contrast_colour
    if params['clutter']:
        _draw_clutter(rng, image, params['clutter'], colour)
    label = _draw_digits(rng, image, pools, _sample_digits(rng), colour)
    image += rng.normal(0.0, rng.uniform(1.0, 6.0), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label


def _background(rng: np.random.Generator, photos: List[np.ndarray], size: int) -> np.ndarray:
    """Random square crop of a random photo, resized: float32 (size, size, 3) in [0, 255]."""
    for _ in range(10):
        photo = photos[rng.integers(len(photos))]
        height, width = photo.shape[:2]
        side = max(16, int(rng.uniform(0.2, 0.7) * min(height, width)))
        y = rng.integers(height - side + 1)
        x = rng.integers(width - side + 1)
        crop = photo[y:y + side, x:x + side]
        if crop.std() >= MIN_BACKGROUND_STD:
            break  # otherwise retry; after 10 flat crops, a flat one is acceptable
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    crop = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)
    return crop.astype(np.float32)


def _contrast_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """Colour (3,) float32 for a stroke over the background pixels ``under`` (N, 3): near
    black over a bright background, near white over a dark one."""
    base = 20.0 if under.mean() > 128 else 235.0
    return (base + rng.uniform(-15, 15, 3)).astype(np.float32)


def _varied_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """Colour (3,) float32 for a stroke over the background pixels ``under`` (N, 3).

    Dark, bright, or a shifted version of the local background, so contrast ranges from
    strong to weak and colour alone never gives a digit away.
    """
    mode = rng.choice(3, p=(0.35, 0.35, 0.30))
    if mode == 0:
        return rng.uniform(0, 90, 3).astype(np.float32)
    if mode == 1:
        return rng.uniform(165, 255, 3).astype(np.float32)
    shift = rng.choice((-1.0, 1.0)) * rng.uniform(45, 80) + rng.uniform(-20, 20, 3)
    return np.clip(under.mean(axis=0) + shift, 0, 255).astype(np.float32)


def _blend(image: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Paint ``colour`` (3,) into float32 ``image`` (h, w, 3) in place with alpha (h, w)."""
    image *= 1.0 - alpha[..., None]
    image += alpha[..., None] * colour


def _draw_clutter(rng: np.random.Generator, image: np.ndarray, most: int,
                  colour: Callable) -> None:
    """Paint 1 to ``most`` non-digit strokes (lines, arcs, blobs) into ``image`` (S, S, 3).

    They stay background in the label: the classifier has to learn digit shapes, not
    "there is a stroke here".
    """
    for _ in range(rng.integers(1, most + 1)):
        alpha = _clutter_shape(rng, image.shape[0]).astype(np.float32) / 255.0
        if alpha.any():
            _blend(image, alpha, colour(rng, image[alpha > 0]))


def _clutter_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """A line, an open arc or a small filled blob, as uint8 (size, size) coverage in 0..255."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    thickness = int(rng.integers(max(1, size // 40), max(2, size // 16) + 1))
    centre = rng.integers(0, size, 2)
    kind = rng.choice(('line', 'arc', 'blob'))
    if kind == 'line':
        angle = rng.uniform(0, np.pi)
        half = rng.uniform(0.1, 0.25) * size * np.array([np.cos(angle), np.sin(angle)])
        start, end = (tuple(int(v) for v in np.rint(centre + sign * half)) for sign in (-1, 1))
        cv2.line(canvas, start, end, 255, thickness, cv2.LINE_AA)
        return canvas
    # Arcs stop short of closing so they cannot pass for a "0"; blobs stay small for the
    # same reason.
    extent, fill, radius = ((rng.uniform(60, 220), thickness, 0.2) if kind == 'arc'
                            else (360.0, cv2.FILLED, 0.1))
    axes = tuple(int(v) for v in rng.uniform(0.03, radius, 2) * size + 1)
    begin = float(rng.uniform(0, 360))
    cv2.ellipse(canvas, tuple(int(v) for v in centre), axes, float(rng.uniform(0, 360)), begin,
                begin + float(extent), 255, fill, cv2.LINE_AA)
    return canvas


def _sample_digits(rng: np.random.Generator) -> np.ndarray:
    """Digit of each instance to draw, int64 (n,), 1 <= n <= 4, with 1-3 distinct digits."""
    num = rng.choice(len(DIGITS_PER_IMAGE_P), p=DIGITS_PER_IMAGE_P) + 1
    num_distinct = min(num, rng.choice(len(CLASSES_PER_IMAGE_P), p=CLASSES_PER_IMAGE_P) + 1)
    distinct = rng.choice(NUM_DIGITS, size=num_distinct, replace=False)
    return rng.permutation(np.concatenate([distinct, rng.choice(distinct, num - num_distinct)]))


def _draw_digits(rng: np.random.Generator, image: np.ndarray, pools: List[np.ndarray],
                 digits: np.ndarray, colour: Callable) -> np.ndarray:
    """Paint the digits into ``image`` (S, S, 3) in place, later ones on top.

    A digit is placed only where it leaves every digit (itself included) at least
    ``MIN_VISIBLE_PIXELS`` and ``MIN_VISIBLE_FRACTION`` of its strokes visible, so every class
    in the label is really there to see; a digit that finds no such place is left out.

    Returns:
        uint8 (S, S) class-index map: digit ``d`` is class ``d + 1``, 0 is background.
    """
    size = image.shape[0]
    label = np.zeros((size, size), dtype=np.uint8)
    owner = np.zeros((size, size), dtype=np.int32)  # 1-based instance on top, 0 = none
    needed: List[int] = [0]
    for digit in digits:
        glyph = pools[digit][rng.integers(len(pools[digit]))]
        placement = _find_placement(rng, glyph, owner, needed)
        if placement is None:
            continue
        alpha, (y, x) = placement
        window = (slice(y, y + alpha.shape[0]), slice(x, x + alpha.shape[1]))
        strokes = alpha > 0
        _blend(image[window], alpha, colour(rng, image[window][strokes]))
        label[window][strokes] = digit + 1
        owner[window][strokes] = len(needed)
        needed.append(max(MIN_VISIBLE_PIXELS, int(np.ceil(MIN_VISIBLE_FRACTION * strokes.sum()))))
    return label


def _find_placement(rng: np.random.Generator, glyph: np.ndarray, owner: np.ndarray,
                    needed: List[int]) -> Optional[Tuple[np.ndarray, Tuple[int, int]]]:
    """Draw a size, rotation and position for ``glyph`` that keeps all digits visible.

    Args:
        glyph: float32 (8, 8) digit intensity in [0, 1].
        owner: int32 (S, S) 1-based instance on top at each pixel, 0 = none.
        needed: visible pixels each placed instance needs, indexed like ``owner``.

    Returns:
        (alpha float32 (h, w), (top, left)), or None after ``PLACEMENT_ATTEMPTS`` failures.
    """
    size = owner.shape[0]
    new_id = len(needed)
    for _ in range(PLACEMENT_ATTEMPTS):
        alpha = _rasterise(rng, glyph, size)
        strokes = alpha > 0
        own_need = max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * strokes.sum())
        y = int(rng.integers(size - alpha.shape[0] + 1))
        x = int(rng.integers(size - alpha.shape[1] + 1))
        trial = owner.copy()
        trial[y:y + alpha.shape[0], x:x + alpha.shape[1]][strokes] = new_id
        visible = np.bincount(trial.ravel(), minlength=new_id + 1)
        if visible[new_id] >= own_need and np.all(visible[1:new_id] >= needed[1:]):
            return alpha, (y, x)
    return None


def _rasterise(rng: np.random.Generator, glyph: np.ndarray, size: int) -> np.ndarray:
    """Upscale, stretch and rotate an 8x8 glyph into a stroke alpha map.

    Returns:
        float32 (h, w) alpha in [0, 1], cropped to the strokes' bounding box; alpha > 0 is
        exactly the digit's label mask.
    """
    cell = rng.uniform(*DIGIT_SIDE_RANGE) * size / 8  # output pixels per glyph pixel
    # Two empty glyph pixels of margin leave room for the rotation below.
    padded = np.pad(glyph, 2)
    width = max(1, int(round(12 * cell * rng.uniform(0.8, 1.1))))
    height = max(1, int(round(12 * cell)))
    intensity = cv2.resize(padded, (width, height), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.7:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2),
                                       float(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)), 1.0)
        intensity = cv2.warpAffine(intensity, turn, (width, height), flags=cv2.INTER_LINEAR)
    alpha = np.clip((intensity - STROKE_THRESHOLD) / EDGE_SOFTNESS, 0.0, 1.0)
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    return np.ascontiguousarray(alpha[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the demo digits dataset (Pascal VOC layout)')
    parser.add_argument('--out', default='data/demo', help='dataset folder to write')
    parser.add_argument('--num-train', type=int, default=3000, help='training images')
    parser.add_argument('--num-val', type=int, default=100, help='validation images')
    parser.add_argument('--size', type=int, default=80, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--clutter', type=int, default=0,
                        help='most non-digit strokes per image (harder task)')
    parser.add_argument('--varied-contrast', action='store_true',
                        help='varied stroke colours instead of the strongest contrast')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing dataset made with other arguments')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # Told apart only for the message: make_demo_dataset itself returns the same either way.
    existed = (Path(args.out) / 'meta.json').exists() and not args.overwrite
    try:
        meta = make_demo_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                                 image_size=args.size, seed=args.seed, clutter=args.clutter,
                                 varied_contrast=args.varied_contrast,
                                 overwrite=args.overwrite)
    except (FileExistsError, ValueError) as error:
        raise SystemExit(f'error: {error}') from None
    verb = 'already up to date' if existed else 'wrote'
    params = meta['params']
    print(f'{verb}: {args.out} ({params["image_size"]}x{params["image_size"]} px, '
          f'seed {params["seed"]})')
    for split, counts in meta['splits'].items():
        per_class = ', '.join(f'{name}:{num}' for name, num
                              in zip(meta['classes'], counts['images_per_class']))
        print(f'  {split}: {counts["images"]} images; images per class: {per_class}')


if __name__ == '__main__':
    main()
