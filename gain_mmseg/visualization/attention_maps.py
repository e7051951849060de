"""Pictures of attention: heat maps over images, coloured masks, labelled picture grids."""
from typing import List, Optional, Sequence

import cv2
import numpy as np

from gain_mmseg.fileio import atomic_path


def heatmap_overlay(image: np.ndarray, attention: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """A JET heat map of ``attention`` blended over ``image``.

    Args:
        image: RGB, uint8 (H, W, 3).
        attention: values in [0, 1], (h, w); resized to the image if needed.
        alpha: weight of the heat map. Default 0.5.

    Returns:
        RGB, uint8 (H, W, 3).
    """
    h, w = image.shape[:2]
    att = np.clip(attention.astype(np.float32), 0, 1)
    if att.shape != (h, w):
        att = cv2.resize(att, (w, h), interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap((att * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    return (alpha * heat + (1 - alpha) * image).astype(np.uint8)


def colorize(mask: np.ndarray, palette: Sequence[Sequence[int]],
             ignore_colour: Sequence[int] = (224, 224, 192)) -> np.ndarray:
    """Label map (H, W) → RGB uint8 (H, W, 3) with the dataset palette; 255 → ``ignore_colour``."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:len(palette)] = np.asarray(palette, dtype=np.uint8)
    lut[255] = ignore_colour
    return lut[mask.astype(np.uint8)]


def picture_grid(rows: List[List[np.ndarray]], titles: Optional[Sequence[str]] = None,
                 cell: int = 128, pad: int = 2) -> np.ndarray:
    """Tile RGB pictures into a grid, each resized to ``cell`` × ``cell``, with column titles.

    Args:
        rows: pictures per row, RGB uint8 (H, W, 3); a shorter row leaves its cells blank.
        titles: one title per column, drawn above the grid.
        cell: side of a cell in pixels. Default 128.
        pad: white gap between cells. Default 2.

    Returns:
        RGB uint8 image.
    """
    cols = max(len(r) for r in rows)
    top = 18 if titles else 0
    grid = np.full((top + len(rows) * (cell + pad), cols * (cell + pad), 3), 255, np.uint8)
    for j, title in enumerate(titles or []):
        cv2.putText(grid, str(title)[:20], (j * (cell + pad) + 2, 13),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    for i, row in enumerate(rows):
        for j, pic in enumerate(row):
            y, x = top + i * (cell + pad), j * (cell + pad)
            grid[y:y + cell, x:x + cell] = cv2.resize(pic, (cell, cell),
                                                      interpolation=cv2.INTER_NEAREST)
    return grid


def save_rgb(path: str, image: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG through a temporary file renamed into place."""
    with atomic_path(path, suffix='.png') as tmp:
        if not cv2.imwrite(tmp, image[..., ::-1]):
            raise OSError(f'could not write {path!r}')
