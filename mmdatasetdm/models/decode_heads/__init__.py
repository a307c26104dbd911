from .hypercolumn_depth_head import HypercolumnDepthHead

__all__ = ['HypercolumnDepthHead']
