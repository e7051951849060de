from .cpu_distributed_runner import CPUDistributedRunner, init_distributed, select_runner_type

__all__ = ['CPUDistributedRunner', 'init_distributed', 'select_runner_type']
