"""The whole weakly supervised pipeline, one tool per step, files on disk between steps.

    python tools/run_pipeline.py STAGE1_CONFIG STAGE2_CONFIG --work-dir W

Steps and their outputs: :mod:`gain_mmseg.pipeline`. A step whose output exists is skipped, so
an interrupted run resumes where it stopped (training steps from their last checkpoint).
"""
import argparse
import os.path as osp

from gain_mmseg.pipeline import Pipeline

TOOLS = osp.dirname(osp.abspath(__file__))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='stage 1 → pseudo masks → stage 2 → eval')
    parser.add_argument('stage1_config')
    parser.add_argument('stage2_config', nargs='?', help='not needed with --skip-stage2')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--name', help='method name in the results table')
    parser.add_argument('--seed', type=int, help='random seed of both trainings')
    parser.add_argument('--data-root',
                        help='data folder of every dataset of both configs (their data_root)')
    parser.add_argument('--stage1-options', nargs='+', default=[],
                        help='--cfg-options for stage 1 (e.g. randomness.seed=1)')
    parser.add_argument('--stage2-options', nargs='+', default=[],
                        help='--cfg-options for stage 2')
    parser.add_argument('--init-stage2-from-stage1', action='store_true',
                        help="initialise stage 2's backbone with stage 1's (same architecture); "
                             'for backbones trained from scratch, as on the demo data')
    parser.add_argument('--skip-stage2', action='store_true',
                        help='stop after the pseudo masks (steps 1-3)')
    args = parser.parse_args()
    if not args.skip_stage2 and not args.stage2_config:
        parser.error('stage2_config is required unless --skip-stage2')
    return args


def main() -> None:
    args = parse_args()
    pipeline = Pipeline(
        args.stage1_config, args.stage2_config, args.work_dir, TOOLS, name=args.name,
        seed=args.seed, data_root=args.data_root, stage1_options=args.stage1_options,
        stage2_options=args.stage2_options,
        init_stage2_from_stage1=args.init_stage2_from_stage1, skip_stage2=args.skip_stage2)
    print(pipeline.run())


if __name__ == '__main__':
    main()
