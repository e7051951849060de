from .hooks import (
                    AttentionVisualizationHook,
                    CAMPseudoLabelHook,
                    FinalValMetricsHook,
                    GAINScheduleHook,
)
from .runners import CPUDistributedRunner, init_distributed, select_runner_type

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook', 'CPUDistributedRunner',
           'FinalValMetricsHook', 'GAINScheduleHook', 'init_distributed',
           'select_runner_type']
