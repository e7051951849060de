"""Train a segmentor (stage 1 or stage 2) from an mmseg config; mmseg's tools/train.py interface."""
import argparse
import logging
import os
import os.path as osp
import resource

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from gain_mmseg.apis import repair_last_checkpoint
from gain_mmseg.datasets import apply_pseudo_mask_root, check_data_config, set_data_root
from gain_mmseg.engine import exit_if_distributed, select_runner_type
from gain_mmseg.fileio import write_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--val-json',
                        help='write the metrics of the validation that ends training to this '
                             'JSON file (FinalValMetricsHook)')
    parser.add_argument('--data-root',
                        help='data folder of every dataset in the config (its data_root)')
    parser.add_argument('--seed', type=int, help='random seed (randomness.seed)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line's overrides applied."""
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    select_runner_type(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    try:
        apply_pseudo_mask_root(cfg)
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f'error: {error}') from None
    check_data_config(cfg)
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.resume = args.resume
    # A resumed run continues torch's random stream too (dropout, noise), not only the data.
    if not any(h.get('type') == 'RandomStateHook' for h in cfg.get('custom_hooks', [])):
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='RandomStateHook')]
    if args.val_json:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='FinalValMetricsHook', out_file=osp.abspath(args.val_json))]
    return cfg


def peak_memory() -> dict:
    """Peak memory of this process so far, in MiB: resident set size (Linux reports KiB) and,
    with CUDA, the most GPU memory torch allocated."""
    memory = {'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        memory['peak_cuda_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return memory


def main() -> None:
    cfg = build_config(parse_args())
    if cfg.resume and osp.isdir(cfg.work_dir):
        # A checkpoint cut short by a kill would make every later resume fail.
        repair_last_checkpoint(cfg.work_dir)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.train()
    # Memory is a column of the results table; mmengine logs it for CUDA only.
    write_json(peak_memory(), osp.join(runner.work_dir, 'train_memory.json'))
    exit_if_distributed()


if __name__ == '__main__':
    main()
