from .attention_visualization_hook import AttentionVisualizationHook
from .cam_pseudo_label_hook import CAMPseudoLabelHook
from .final_val_metrics_hook import FinalValMetricsHook
from .gain_schedule_hook import GAINScheduleHook
from .random_state_hook import RandomStateHook

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook', 'FinalValMetricsHook',
           'GAINScheduleHook', 'RandomStateHook']
