from .hooks import (
                    AttentionVisualizationHook,
                    CAMPseudoLabelHook,
                    FinalValMetricsHook,
                    GAINScheduleHook,
    RandomStateHook,
)
from .runners import CPUDistributedRunner, finish_distributed, init_distributed, select_runner_type

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook', 'CPUDistributedRunner',
           'FinalValMetricsHook', 'GAINScheduleHook', 'RandomStateHook', 'finish_distributed',
           'init_distributed', 'select_runner_type']
