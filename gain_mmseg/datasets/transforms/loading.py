"""Image and mask loading that names the file it cannot read.

Registered under the stock names in mmseg's registry, so every config built in the ``mmseg``
scope (``default_scope='mmseg'``) uses them without a change: good files load exactly as with
mmcv's ``LoadImageFromFile`` and mmseg's ``LoadAnnotations``; a missing, empty or undecodable
file is an error naming it instead of OpenCV's ``!buf.empty()`` from inside a worker.
"""
import os.path as osp
from typing import Optional

from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations as _MMSegLoadAnnotations
from mmseg.registry import TRANSFORMS


def unreadable_file_error(path: str, what: str, exc: Exception) -> Exception:
    """The error to raise for ``path`` (an image or a mask, ``what``) that failed to load
    with ``exc``: FileNotFoundError when it is absent, ValueError otherwise, naming the
    file and what is wrong with it."""
    if not osp.exists(path):
        return FileNotFoundError(f'{what} {path!r} does not exist')
    if osp.isfile(path) and osp.getsize(path) == 0:
        return ValueError(f'{what} {path!r} is an empty file (0 bytes)')
    return ValueError(f'{what} {path!r} cannot be decoded as an image '
                      f'({type(exc).__name__}: {str(exc)[:120]})')


@TRANSFORMS.register_module(name='LoadImageFromFile', force=True)
class CheckedLoadImageFromFile(_MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with :func:`unreadable_file_error` for files it cannot
    read (``ignore_empty=True`` still returns None for them, as mmcv's does)."""

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except Exception as exc:  # OpenCV, PIL and the file backends raise many types
            raise unreadable_file_error(results['img_path'], 'image', exc) from exc


@TRANSFORMS.register_module(name='LoadAnnotations', force=True)
class CheckedLoadAnnotations(_MMSegLoadAnnotations):
    """mmseg's ``LoadAnnotations`` with :func:`unreadable_file_error` for masks it cannot
    read."""

    def _load_seg_map(self, results: dict) -> None:
        try:
            super()._load_seg_map(results)
        except AssertionError:  # mmseg's own check of reduce_zero_label, not a read error
            raise
        except Exception as exc:
            raise unreadable_file_error(results['seg_map_path'], 'mask', exc) from exc
