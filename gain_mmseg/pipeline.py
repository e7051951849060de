"""The weakly supervised pipeline as steps with files on disk between them (IRN's ``step/``
layout): each step is one tool run in its own process, skipped when its output exists, so an
interrupted run resumes where it stopped. ``tools/run_pipeline.py`` is the thin command line.

1. stage 1 (``train.py``)                → ``stage1/`` with its final checkpoint (+ pseudo
                                            masks, if the config has ``CAMPseudoLabelHook``)
2. attention mIoU on val                 → ``stage1_val.json``
3. pseudo masks (``gen_pseudo_labels.py``) → ``stage1/pseudo_masks/``, ``stage1/pseudo_masks.json``
4. stage 2 on the pseudo masks (``train.py``) → ``stage2/`` with its final checkpoint
5. final mIoU on val                     → ``stage2_val.json``, and with the config's
                                            ``tta_pipeline`` → ``stage2_val_tta.json``
6. results tables                        → ``results.md``, ``results.json``

A training step is done when the checkpoint mmengine's ``last_checkpoint`` names loads and
was saved at the config's ``max_iters``. The val mIoU of steps 2 and 5 comes from the
validation that ends training (``train.py --val-json``); ``test.py`` evaluates a checkpoint
only where that file is missing.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from dataclasses import dataclass, field
from typing import List, Optional

from mmengine.config import Config, DictAction

from gain_mmseg.apis import read_checkpoint
from gain_mmseg.engine.hooks.cam_pseudo_label_hook import accumulated_folder
from gain_mmseg.evaluation import write_results


@dataclass
class PipelinePaths:
    """Where each step of a pipeline in ``work_dir`` leaves its output."""

    work_dir: str

    @property
    def stage1(self) -> str:
        return osp.join(self.work_dir, 'stage1')

    @property
    def stage2(self) -> str:
        return osp.join(self.work_dir, 'stage2')

    @property
    def masks(self) -> str:
        return osp.abspath(osp.join(self.stage1, 'pseudo_masks'))

    @property
    def masks_json(self) -> str:
        return self.masks + '.json'

    @property
    def stage1_val(self) -> str:
        return osp.join(self.work_dir, 'stage1_val.json')

    @property
    def stage2_val(self) -> str:
        return osp.join(self.work_dir, 'stage2_val.json')

    @property
    def stage2_val_tta(self) -> str:
        return osp.join(self.work_dir, 'stage2_val_tta.json')


def config_with_options(config: str, options: List[str]) -> Config:
    """``config`` with the ``--cfg-options`` ``options`` applied, as the tools apply them."""
    cfg = Config.fromfile(config)
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


def max_iters(config: str, options: List[str]) -> int:
    """The training length of ``config`` under the ``--cfg-options`` ``options``."""
    return int(config_with_options(config, options).train_cfg.max_iters)


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint mmengine's ``last_checkpoint`` file in ``work_dir`` names, or None.

    mmengine writes an absolute path; in a work dir moved or copied since, the file of that
    name inside ``work_dir`` is meant."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    return path if osp.isfile(path) else osp.join(work_dir, osp.basename(path))


def final_checkpoint(config: str, work_dir: str, options: List[str]) -> Optional[str]:
    """The checkpoint of a finished training run of ``config`` in ``work_dir``: the last one,
    if it loads and was saved after the last iteration; None while the run is not done."""
    ckpt = last_checkpoint(work_dir)
    if ckpt is None:
        return None
    try:
        meta = read_checkpoint(ckpt).get('meta') or {}
    except (FileNotFoundError, ValueError):
        return None
    return ckpt if meta.get('iter', -1) >= max_iters(config, options) else None


def backbone_init(ckpt: str) -> List[str]:
    """``--cfg-options`` loading the backbone weights of checkpoint ``ckpt`` (mmseg's
    ``Pretrained`` init, so a resumed run still continues from its own checkpoint)."""
    key = 'model.backbone.init_cfg'
    return [f'{key}.type=Pretrained', f'{key}.checkpoint={osp.abspath(ckpt)}',
            f'{key}.prefix=backbone.']


def read_json(path: str) -> Optional[dict]:
    """The JSON at ``path``, or None where the step that writes it has not run."""
    if not osp.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


@dataclass
class Pipeline:
    """Stage 1 → attention mIoU → pseudo masks → stage 2 → final mIoU → tables.

    Args:
        stage1_config, stage2_config: configs of the two stages (stage 2 may be None with
            ``skip_stage2``).
        work_dir: the pipeline's folder (:class:`PipelinePaths`).
        tools_dir: folder of ``train.py``, ``test.py`` and ``gen_pseudo_labels.py``.
        name: method name in the results table (default: stage 1's config name).
        seed, data_root: passed to both trainings (and the data root to every step).
        stage1_options, stage2_options: ``--cfg-options`` of each stage.
        init_stage2_from_stage1: start stage 2's backbone from stage 1's.
        skip_stage2: stop after the pseudo masks.
    """

    stage1_config: str
    stage2_config: Optional[str]
    work_dir: str
    tools_dir: str
    name: Optional[str] = None
    seed: Optional[int] = None
    data_root: Optional[str] = None
    stage1_options: List[str] = field(default_factory=list)
    stage2_options: List[str] = field(default_factory=list)
    init_stage2_from_stage1: bool = False
    skip_stage2: bool = False

    def __post_init__(self) -> None:
        self.paths = PipelinePaths(self.work_dir)

    # ---- steps -----------------------------------------------------------------------------

    def run_step(self, cmd: List[str]) -> None:
        """Run one step's tool; a failure stops the pipeline with the step's command."""
        print('\n$ ' + ' '.join(cmd), flush=True)
        if subprocess.call(cmd) != 0:
            raise SystemExit(f'step failed: {" ".join(cmd)}')

    def _tool(self, name: str) -> List[str]:
        return [sys.executable, osp.join(self.tools_dir, name)]

    def _data(self) -> List[str]:
        return ['--data-root', self.data_root] if self.data_root else []

    def train(self, config: str, work_dir: str, options: List[str], val_json: str) -> str:
        """Steps 1 and 4: train unless a finished run is in ``work_dir``
        (:func:`final_checkpoint`), writing the final validation's metrics to ``val_json``;
        return the final checkpoint. A final checkpoint cut short by a kill does not count:
        ``train.py --resume`` sets it aside and resumes from the one before."""
        ckpt = final_checkpoint(config, work_dir, options)
        if ckpt is not None:
            print(f'skip training: {ckpt} is final')
            return ckpt
        seed = ['--seed', str(self.seed)] if self.seed is not None else []
        cmd = [*self._tool('train.py'), config, '--work-dir', work_dir, '--resume',
               '--val-json', val_json, *self._data(), *seed]
        self.run_step(cmd + (['--cfg-options', *options] if options else []))
        ckpt = final_checkpoint(config, work_dir, options)
        if ckpt is None:
            raise SystemExit(f'training in {work_dir} ended without a final checkpoint')
        return ckpt

    def evaluate(self, config: str, ckpt: str, work_dir: str, out: str, options: List[str],
                 tta: bool = False) -> None:
        """Steps 2 and 5: val mIoU of a checkpoint into ``out`` (JSON), unless training or
        an earlier run wrote it."""
        if osp.exists(out):
            print(f'skip evaluation: {out} exists')
            return
        cmd = [*self._tool('test.py'), config, ckpt, '--work-dir', work_dir, '--metrics-json',
               out, *(['--tta'] if tta else []), *self._data()]
        self.run_step(cmd + (['--cfg-options', *options] if options else []))

    def pseudo_masks(self, ckpt: str) -> None:
        """Step 3, with the config's ``pseudo_mask`` settings (the tool reads them)."""
        out = self.paths.masks
        if osp.exists(self.paths.masks_json):
            print(f'skip pseudo masks: {self.paths.masks_json} exists')
            return
        # Attention the stage-1 hook accumulated during training (OAA), when it does.
        accumulated = accumulated_folder(
            config_with_options(self.stage1_config, self.stage1_options), self.paths.stage1)
        cmd = [*self._tool('gen_pseudo_labels.py'), self.stage1_config, ckpt, '--out', out,
               '--eval', '--json', self.paths.masks_json, *self._data(),
               *(['--accumulated', accumulated] if accumulated else [])]
        self.run_step(cmd + (['--cfg-options', *self.stage1_options]
                             if self.stage1_options else []))

    # ---- the whole run ---------------------------------------------------------------------

    def run(self) -> str:
        """Every step in order, each skipped when done; returns the results table."""
        p = self.paths
        ckpt1 = self.train(self.stage1_config, p.stage1, self.stage1_options, p.stage1_val)
        self.evaluate(self.stage1_config, ckpt1, p.stage1, p.stage1_val, self.stage1_options)
        self.pseudo_masks(ckpt1)
        row = {
            'method': self.name or osp.splitext(osp.basename(self.stage1_config))[0],
            'attention': read_json(p.stage1_val),
            'pseudo': read_json(p.masks_json),
        }
        if not self.skip_stage2:
            cfg2 = Config.fromfile(self.stage2_config)
            options = [f'pseudo_mask_root={p.masks}',
                       *(backbone_init(ckpt1) if self.init_stage2_from_stage1 else []),
                       *self.stage2_options]
            ckpt2 = self.train(self.stage2_config, p.stage2, options, p.stage2_val)
            self.evaluate(self.stage2_config, ckpt2, p.stage2, p.stage2_val,
                          self.stage2_options)
            if 'tta_pipeline' in cfg2:
                self.evaluate(self.stage2_config, ckpt2, p.stage2, p.stage2_val_tta,
                              self.stage2_options, tta=True)
            row['final'] = read_json(p.stage2_val)
            row['model'] = self.model_card(cfg2, row['final'], ckpt2)
        else:
            row['final'] = read_json(p.stage2_val)
        return write_results([row], self.work_dir)

    def model_card(self, cfg: Config, final: Optional[dict], ckpt: str) -> dict:
        """What mmseg's results tables say about the stage-2 model: from its config, its val
        metrics ``final``, its final checkpoint ``ckpt`` and the files its training left."""
        backbone = cfg.model.backbone
        final = final or {}
        memory = read_json(osp.join(self.paths.stage2, 'train_memory.json')) or {}
        return {
            'backbone': f"{backbone.type}-{backbone.get('depth', '')}".rstrip('-'),
            'crop_size': list(cfg.get('crop_size',
                                      cfg.model.data_preprocessor.get('size') or [])),
            'iters': max_iters(self.stage2_config, self.stage2_options),
            'memory_mib': memory.get('peak_cuda_mib', memory.get('peak_rss_mib')),
            'memory_kind': 'GPU' if 'peak_cuda_mib' in memory else 'RSS',
            'ms_per_image': final.get('ms_per_image'),
            'mIoU_tta': (read_json(self.paths.stage2_val_tta) or {}).get('mIoU'),
            'config': osp.relpath(self.stage2_config),
            'checkpoint': _relative(ckpt),
        }


def _relative(path: Optional[str]) -> Optional[str]:
    """``path`` relative to the working directory where it lies below it (for tables)."""
    if not path:
        return None
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative
