from .hooks import AttentionVisualizationHook, CAMPseudoLabelHook

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook']
