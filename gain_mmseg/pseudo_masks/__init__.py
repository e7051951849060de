from .evaluation import PseudoMaskEvaluator
from .generate import generate_pseudo_masks
from .generator import PseudoMaskGenerator
from .settings import PSEUDO_MASK_DEFAULTS, pseudo_mask_settings
from .writer import PseudoMaskWriter

__all__ = ['PSEUDO_MASK_DEFAULTS', 'PseudoMaskEvaluator', 'PseudoMaskGenerator',
           'PseudoMaskWriter', 'generate_pseudo_masks', 'pseudo_mask_settings']
