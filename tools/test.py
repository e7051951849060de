"""Evaluate a checkpoint on a config's test set; mmseg's tools/test.py interface."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

from gain_mmseg.apis import check_checkpoint_fits
from gain_mmseg.datasets import check_data_config, set_data_root
from gain_mmseg.engine import exit_if_distributed, select_runner_type
from gain_mmseg.fileio import write_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='directory where painted predictions are saved')
    parser.add_argument('--metrics-json', help='write the metrics to this JSON file')
    parser.add_argument('--tta', action='store_true', help='multi-scale + flip test')
    parser.add_argument('--data-root',
                        help='data folder of every dataset in the config (its data_root)')
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
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise SystemExit(f'{path!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    select_runner_type(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    check_data_config(cfg, ['test_dataloader'])
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_config(args)
    # mmengine loads non-strictly: a checkpoint of another model would test random weights.
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    check_checkpoint_fits(cfg.model.module if args.tta else cfg.model, args.checkpoint)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    metrics = {k: float(v) for k, v in runner.test().items()}
    # IterTimerHook's test batch times (data loading included), over this rank's images.
    batch_times = runner.message_hub.get_scalar('test/time').data[0]
    metrics['ms_per_image'] = 1000 * batch_times.sum() / len(runner.test_dataloader.sampler)
    if args.metrics_json:
        write_json(metrics, args.metrics_json)
    exit_if_distributed()


if __name__ == '__main__':
    main()
