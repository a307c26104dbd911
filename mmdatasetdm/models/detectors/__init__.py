from .pdecoder_mask2former import PDecoderMask2Former

__all__ = ['PDecoderMask2Former']
