"""Shims for gaps in the pinned OpenMMLab stack (mmengine 0.10.7, mmcv 2.1.0, mmseg 1.2.2).

Imported once by ``gain_mmseg/__init__.py``. Each shim names the upstream gap it covers and
when it can go.
"""
import numpy as np
import torch


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

    torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 stores its
    ``message_hub`` (a ``HistoryBuffer`` holding numpy arrays) in every checkpoint, so resume,
    ``load_from`` and ``init_model`` fail with ``Unsupported global``. Allow-listing exactly
    these types keeps safe loading on for everything else. Can go once mmengine saves plain
    tensors or passes ``weights_only=False`` itself.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray

    dtype_classes = [type(np.dtype(t)) for t in (
        np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8,
        np.bool_)]
    torch.serialization.add_safe_globals([
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        getattr,  # numpy's pickles of dtypes call it
        *dtype_classes,
    ])


allow_mmengine_checkpoints()
