"""Compatibility shims for the pinned OpenMMLab stack on current torch/numpy.

Every shim lives here, is applied once on ``import mmdatasetdm``, and has a
test that fails without it (tests/test_compat.py).

1. torch >= 2.6 loads checkpoints with ``weights_only=True``. Runner
   checkpoints of mmengine 0.10.7 hold numpy arrays/scalars and
   ``mmengine.logging.HistoryBuffer`` objects in ``message_hub``. We allow-list
   exactly those classes (never turning ``weights_only`` off).
2. ``HistoryBuffer.__getstate__`` of mmengine 0.10.7 pickles its statistics
   methods as ``getattr(HistoryBuffer, 'min')`` calls; ``builtins.getattr`` is not
   safe to allow-list, so buffers are pickled without them (mmengine's own
   ``__setstate__`` already treats them as optional and the class keeps them).
3. mmcv's ``MultiScaleDeformableAttention`` calls its compiled CUDA kernel for
   every CUDA tensor whenever torch sees a GPU, even when mmcv was built with
   CPU ops only (the default install), and fails on the first GPU batch.
   :func:`use_pytorch_deform_attn_without_cuda_ops` (called when a P-Decoder's
   deformable encoder is built, not on import) then sends every call to mmcv's
   own pure-PyTorch implementation.
"""
import numpy as np
import torch

_APPLIED = False


def _numpy_reconstruct_globals():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV'}
    return [np.ndarray, np.dtype, _reconstruct, scalar, *sorted(dtype_classes, key=str)]


def _history_buffer_getstate(self) -> dict:
    """State of a HistoryBuffer without its (class-level) statistics methods."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def mmengine_checkpoint_safe_globals() -> list:
    """The globals a runner checkpoint of mmengine 0.10.7 needs to load with
    ``weights_only=True``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, *_numpy_reconstruct_globals()]


def apply() -> None:
    """Apply every shim (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())
    _APPLIED = True


def mmcv_has_cuda_ops() -> bool:
    """Whether the installed mmcv was compiled with its CUDA kernels."""
    try:
        from mmcv.ops import get_compiling_cuda_version
    except ImportError:  # mmcv without compiled ops at all
        return False
    return get_compiling_cuda_version() not in ('not available', '', None)


def use_pytorch_deform_attn_without_cuda_ops() -> bool:
    """With an mmcv built without its CUDA ops, make mmcv's ``MultiScaleDeformableAttention``
    take its pure-PyTorch path (``multi_scale_deformable_attn_pytorch``) on every device.

    mmcv decides per call with its module flag ``IS_CUDA_AVAILABLE`` (whether torch sees a
    GPU) and then calls a CUDA kernel this build does not have. The flag is set to what is
    true of this mmcv (no CUDA kernel), once per process: thread-safe, and the modules keep
    their class, parameters and checkpoints. An mmcv with CUDA ops is left alone.

    Returns:
        bool: whether the PyTorch path was chosen.
    """
    if mmcv_has_cuda_ops():
        return False
    import mmcv.ops.multi_scale_deform_attn as msda
    msda.IS_CUDA_AVAILABLE = False
    return True
