from .cpu_distributed_runner import (
                                     CPUDistributedRunner,
                                     exit_if_distributed,
                                     init_distributed,
                                     select_runner_type,
)

__all__ = ['CPUDistributedRunner', 'exit_if_distributed', 'init_distributed',
           'select_runner_type']
