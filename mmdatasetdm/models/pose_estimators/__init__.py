from .pdecoder_topdown import PDecoderTopdown

__all__ = ['PDecoderTopdown']
