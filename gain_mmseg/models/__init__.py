from .attention import cam, grad_cam, normalize_attention
from .heads import AttentionMiningHead
from .losses import GAINLoss
from .segmentors import GAINEncoderDecoder

__all__ = ['AttentionMiningHead', 'GAINEncoderDecoder', 'GAINLoss', 'cam', 'grad_cam',
           'normalize_attention']
