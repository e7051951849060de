from .hooks import (
                    AttentionVisualizationHook,
                    CAMPseudoLabelHook,
                    FinalValMetricsHook,
                    GAINScheduleHook,
    RandomStateHook,
)
from .runners import CPUDistributedRunner, exit_if_distributed, init_distributed, select_runner_type

__all__ = ['AttentionVisualizationHook', 'CAMPseudoLabelHook', 'CPUDistributedRunner',
           'FinalValMetricsHook', 'GAINScheduleHook', 'RandomStateHook', 'exit_if_distributed',
           'init_distributed', 'select_runner_type']
