from .attention import cam, grad_cam, normalize_attention
from .heads import AttentionMiningHead
from .losses import GAINLoss
from .pretrained_init import CheckedPretrainedInit
from .segmentors import GAINEncoderDecoder

__all__ = ['AttentionMiningHead', 'CheckedPretrainedInit', 'GAINEncoderDecoder', 'GAINLoss',
           'cam', 'grad_cam', 'normalize_attention']
