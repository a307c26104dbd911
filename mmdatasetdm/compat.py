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
   :func:`use_pytorch_deform_attn_fallback` gives chosen modules (the
   P-Decoder's deformable encoder) mmcv's own pure-PyTorch implementation
   whenever the compiled op for the tensor's device is missing. Applied per
   module, not on import.
"""
from contextlib import contextmanager
from typing import Union

import numpy as np
import torch
from torch import nn

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


def needs_pytorch_deform_attn(device: Union[str, torch.device]) -> bool:
    """True when mmcv would call a compiled deformable-attention kernel that
    this mmcv build does not have: a CUDA tensor and an mmcv built without CUDA
    ops. (CPU tensors always take mmcv's PyTorch path.)"""
    return torch.device(device).type == 'cuda' and not mmcv_has_cuda_ops()


@contextmanager
def pytorch_deform_attn():
    """Inside this block mmcv's ``MultiScaleDeformableAttention`` takes its
    pure-PyTorch path (``multi_scale_deformable_attn_pytorch``) on every device."""
    import mmcv.ops.multi_scale_deform_attn as msda
    saved = msda.IS_CUDA_AVAILABLE
    msda.IS_CUDA_AVAILABLE = False
    try:
        yield
    finally:
        msda.IS_CUDA_AVAILABLE = saved


def _deform_attn_class():
    from mmcv.ops import MultiScaleDeformableAttention

    class DeviceAwareDeformAttention(MultiScaleDeformableAttention):
        """mmcv's ``MultiScaleDeformableAttention`` (same parameters, same
        results) that falls back to mmcv's PyTorch implementation when the
        compiled kernel for its device is missing."""

        def forward(self, *args, **kwargs):
            if needs_pytorch_deform_attn(self.value_proj.weight.device):
                with pytorch_deform_attn():
                    return super().forward(*args, **kwargs)
            return super().forward(*args, **kwargs)

    return DeviceAwareDeformAttention


_DEVICE_AWARE_DEFORM_ATTN = None


def use_pytorch_deform_attn_fallback(module: nn.Module) -> int:
    """Give every ``MultiScaleDeformableAttention`` inside ``module`` the
    fallback of :func:`needs_pytorch_deform_attn`.

    The modules keep their parameters, buffers and state (only their class
    changes to a subclass whose ``forward`` picks the implementation), so
    checkpoints and initialisation are unchanged.

    Returns:
        int: how many modules were given the fallback.
    """
    global _DEVICE_AWARE_DEFORM_ATTN
    from mmcv.ops import MultiScaleDeformableAttention
    if _DEVICE_AWARE_DEFORM_ATTN is None:
        _DEVICE_AWARE_DEFORM_ATTN = _deform_attn_class()
    count = 0
    for sub in module.modules():
        if type(sub) is MultiScaleDeformableAttention:
            sub.__class__ = _DEVICE_AWARE_DEFORM_ATTN
            count += 1
    return count
