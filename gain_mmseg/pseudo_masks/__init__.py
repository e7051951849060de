from .evaluation import PseudoMaskEvaluator
from .generate import generate_pseudo_masks, hook_settings, write_json
from .generator import PseudoMaskGenerator
from .writer import PseudoMaskWriter

__all__ = ['PseudoMaskEvaluator', 'PseudoMaskGenerator', 'PseudoMaskWriter',
           'generate_pseudo_masks', 'hook_settings', 'write_json']
