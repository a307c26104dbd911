from .pdecoder_segmentor import PDecoderDepthEstimator, PDecoderSegmentor

__all__ = ['PDecoderSegmentor', 'PDecoderDepthEstimator']
