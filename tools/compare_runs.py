"""A method's pipeline runs against a baseline's, paired by seed.

    python tools/compare_runs.py --runs W0/gain W1/gain W2/gain --against W0/cam W1/cam W2/cam

Each folder is a finished ``tools/run_pipeline.py`` (or ``make demo-real``) run; the seed of
each is read from its stage-1 config, and every run is paired with the run of the same seed.
Prints a markdown table: attention, pseudo-mask and stage-2 mIoU as mean ± std over seeds for
both, and the method minus the baseline seed by seed (losing seeds too).
"""
import argparse

from gain_mmseg.evaluation.paired_runs import paired_table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='pipeline runs paired by seed')
    parser.add_argument('--runs', nargs='+', required=True,
                        help="the method's run folders, one per seed")
    parser.add_argument('--against', nargs='+', required=True,
                        help="the baseline's run folders, the same seeds")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(paired_table(args.runs, args.against))


if __name__ == '__main__':
    main()
