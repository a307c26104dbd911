from .hypercolumn import HypercolumnNeck, word_attention
from .hypercolumn_pixel_decoder import HypercolumnPixelDecoder

__all__ = ['HypercolumnNeck', 'HypercolumnPixelDecoder', 'word_attention']
