from .cpu_distributed_runner import (
                                     CPUDistributedRunner,
                                     finish_distributed,
                                     init_distributed,
                                     select_runner_type,
)

__all__ = ['CPUDistributedRunner', 'finish_distributed', 'init_distributed',
           'select_runner_type']
