from .hypercolumn_depth_head import HypercolumnDepthHead
from .word_attention_head import WordAttentionHead

__all__ = ['HypercolumnDepthHead', 'WordAttentionHead']
