"""The whole weakly supervised pipeline, one tool per step, files on disk between steps.

    python tools/run_pipeline.py STAGE1_CONFIG STAGE2_CONFIG --work-dir W

1. stage 1 (tools/train.py)            → W/stage1/iter_<max>.pth (+ pseudo masks, if the
                                          config has CAMPseudoLabelHook)
2. attention mIoU on val                  → W/stage1_val.json
3. pseudo masks (tools/gen_pseudo_labels.py) → W/stage1/pseudo_masks/, W/stage1/pseudo_masks.json
4. stage 2 on the pseudo masks (tools/train.py) → W/stage2/iter_<max>.pth (its backbone
   initialised from stage 1's with --init-stage2-from-stage1)
5. final mIoU on val                      → W/stage2_val.json, and with the config's test-time
                                          augmentation (`tta_pipeline`), if it has one,
                                          → W/stage2_val_tta.json (tools/test.py --tta)
6. results tables                         → W/results.md, W/results.json

A step whose output exists is skipped, so an interrupted run resumes where it stopped
(training steps resume from their last checkpoint). The val mIoU of steps 2 and 5 comes from
the validation that ends training (tools/train.py --val-json); tools/test.py evaluates the
checkpoint only where that file is missing (a config that does not validate, or a run
trained elsewhere).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import List, Optional

from mmengine.config import Config

from gain_mmseg.apis import read_checkpoint
from gain_mmseg.evaluation import write_results
from gain_mmseg.pseudo_masks.dataset import seg_map_overrides

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


def run(cmd: List[str]) -> None:
    """Run one step; a failure stops the pipeline with the step's command."""
    print('\n$ ' + ' '.join(cmd), flush=True)
    if subprocess.call(cmd) != 0:
        raise SystemExit(f'step failed: {" ".join(cmd)}')


def max_iters(config: str, options: List[str]) -> int:
    """The training length of ``config`` under the ``--cfg-options`` ``options``."""
    for opt in options:
        key, _, value = opt.partition('=')
        if key == 'train_cfg.max_iters':
            return int(value)
    return int(Config.fromfile(config).train_cfg.max_iters)


def final_checkpoint(config: str, work_dir: str, options: List[str]) -> str:
    """Path of the checkpoint a finished training run of ``config`` leaves behind."""
    return osp.join(work_dir, f'iter_{max_iters(config, options)}.pth')


def train(config: str, work_dir: str, options: List[str], val_json: str,
          flags: List[str] = ()) -> str:
    """Steps 1 and 4: train unless the final checkpoint exists, writing the final
    validation's metrics to ``val_json``; return the final checkpoint."""
    ckpt = final_checkpoint(config, work_dir, options)
    if loads(ckpt):
        print(f'skip training: {ckpt} exists')
    else:
        cmd = [sys.executable, osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir,
               '--resume', '--val-json', val_json, *flags]
        run(cmd + (['--cfg-options', *options] if options else []))
    return ckpt


def loads(ckpt: str) -> bool:
    """Whether ``ckpt`` exists and loads: a final checkpoint cut short by a kill does not
    count as done (train.py --resume sets it aside and resumes from the one before)."""
    try:
        read_checkpoint(ckpt)
    except (FileNotFoundError, ValueError):
        return False
    return True


def evaluate(config: str, ckpt: str, work_dir: str, out: str, options: List[str],
             tta: bool = False, flags: List[str] = ()) -> None:
    """Steps 2 and 5: val mIoU of a checkpoint into ``out`` (JSON), unless training or an
    earlier run wrote it."""
    if osp.exists(out):
        print(f'skip evaluation: {out} exists')
        return
    cmd = [sys.executable, osp.join(TOOLS, 'test.py'), config, ckpt, '--work-dir', work_dir,
           '--metrics-json', out, *(['--tta'] if tta else []), *flags]
    run(cmd + (['--cfg-options', *options] if options else []))


def pseudo_masks(config: str, ckpt: str, out_dir: str, options: List[str],
                 flags: List[str] = ()) -> None:
    """Step 3, with the config's ``pseudo_mask`` settings (the tool reads them)."""
    if osp.exists(out_dir + '.json'):
        print(f'skip pseudo masks: {out_dir}.json exists')
        return
    cmd = [sys.executable, osp.join(TOOLS, 'gen_pseudo_labels.py'), config, ckpt,
           '--out', out_dir, '--eval', '--json', out_dir + '.json', *flags]
    run(cmd + (['--cfg-options', *options] if options else []))


def backbone_init(ckpt: str) -> List[str]:
    """``--cfg-options`` loading the backbone weights of checkpoint ``ckpt`` (mmseg's
    ``Pretrained`` init, so a resumed run still continues from its own checkpoint)."""
    key = 'model.backbone.init_cfg'
    return [f'{key}.type=Pretrained', f'{key}.checkpoint={osp.abspath(ckpt)}',
            f'{key}.prefix=backbone.']


def model_card(config: str, cfg: Config, work_dir: str, options: List[str],
               final: Optional[dict]) -> dict:
    """What mmseg's results tables say about a stage-2 model, from its config (path and
    loaded), its val metrics ``final`` and the files its training left in ``work_dir``."""
    backbone = cfg.model.backbone
    final = final or {}
    memory = read_json(osp.join(work_dir, 'stage2', 'train_memory.json')) or {}
    return {
        'backbone': f"{backbone.type}-{backbone.get('depth', '')}".rstrip('-'),
        'crop_size': list(cfg.get('crop_size', cfg.model.data_preprocessor.get('size') or [])),
        'iters': max_iters(config, options),
        'memory_mib': memory.get('peak_cuda_mib', memory.get('peak_rss_mib')),
        'memory_kind': 'GPU' if 'peak_cuda_mib' in memory else 'RSS',
        'ms_per_image': final.get('ms_per_image'),
        'mIoU_tta': (read_json(osp.join(work_dir, 'stage2_val_tta.json')) or {}).get('mIoU'),
        'config': osp.relpath(config),
        'checkpoint': final_checkpoint(config, osp.join(work_dir, 'stage2'), options),
    }


def read_json(path: str) -> Optional[dict]:
    if not osp.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def main() -> None:
    args = parse_args()
    w = args.work_dir
    stage1_dir, stage2_dir = osp.join(w, 'stage1'), osp.join(w, 'stage2')
    masks = osp.abspath(osp.join(stage1_dir, 'pseudo_masks'))

    data = ['--data-root', args.data_root] if args.data_root else []
    seed = ['--seed', str(args.seed)] if args.seed is not None else []
    val1, val2 = osp.join(w, 'stage1_val.json'), osp.join(w, 'stage2_val.json')
    ckpt1 = train(args.stage1_config, stage1_dir, args.stage1_options, val1, data + seed)
    evaluate(args.stage1_config, ckpt1, stage1_dir, val1, args.stage1_options, flags=data)
    pseudo_masks(args.stage1_config, ckpt1, masks, args.stage1_options, data)
    if not args.skip_stage2:
        cfg2 = Config.fromfile(args.stage2_config)
        options = [*seg_map_overrides(cfg2, masks),
                   *(backbone_init(ckpt1) if args.init_stage2_from_stage1 else []),
                   *args.stage2_options]
        ckpt2 = train(args.stage2_config, stage2_dir, options, val2, data + seed)
        evaluate(args.stage2_config, ckpt2, stage2_dir, val2, args.stage2_options, flags=data)
        if 'tta_pipeline' in cfg2:
            evaluate(args.stage2_config, ckpt2, stage2_dir, osp.join(w, 'stage2_val_tta.json'),
                     args.stage2_options, tta=True, flags=data)

    row = {
        'method': args.name or osp.splitext(osp.basename(args.stage1_config))[0],
        'attention': read_json(val1),
        'pseudo': read_json(masks + '.json'),
        'final': read_json(val2),
    }
    if not args.skip_stage2:
        row['model'] = model_card(args.stage2_config, cfg2, w, args.stage2_options,
                                  row['final'])
    print(write_results([row], w))


if __name__ == '__main__':
    main()
