from .accumulation import AttentionAccumulator
from .evaluation import PseudoMaskEvaluator
from .generate import accumulate_attention, generate_pseudo_masks
from .generator import PseudoMaskGenerator
from .settings import PSEUDO_MASK_DEFAULTS, pseudo_mask_settings
from .writer import PseudoMaskWriter

__all__ = ['AttentionAccumulator', 'PSEUDO_MASK_DEFAULTS', 'PseudoMaskEvaluator',
           'PseudoMaskGenerator', 'PseudoMaskWriter', 'accumulate_attention',
           'generate_pseudo_masks', 'pseudo_mask_settings']
