from .attention_visualization_hook import AttentionVisualizationHook
from .cam_pseudo_label_hook import CAMPseudoLabelHook

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook']
