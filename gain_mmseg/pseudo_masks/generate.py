"""One entry point for the tool and the hook: model + config → pseudo masks on disk."""
import hashlib
import json
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather_object, barrier, get_dist_info

from gain_mmseg.datasets.pixel_supervision_dataset import pixel_supervised_stems
from gain_mmseg.fileio import write_json
from gain_mmseg.pseudo_masks.accumulation import AttentionAccumulator
from gain_mmseg.pseudo_masks.dataset import build_inference_dataset
from gain_mmseg.pseudo_masks.evaluation import PseudoMaskEvaluator
from gain_mmseg.pseudo_masks.generator import PseudoMaskGenerator
from gain_mmseg.pseudo_masks.settings import PSEUDO_MASK_DEFAULTS, settings_record
from gain_mmseg.pseudo_masks.writer import PseudoMaskWriter


def generate_pseudo_masks(model: torch.nn.Module, cfg: Config, out_dir: str,
                          split: str = 'train', save_maps: bool = False,
                          overwrite: bool = False, evaluate: bool = False, batch_size: int = 8,
                          results_json: Optional[str] = None, progress: bool = True,
                          num_workers: Optional[int] = None, accumulated: Optional[str] = None,
                          **generator_kwargs) -> Optional[dict]:
    """Write the pseudo masks of ``cfg``'s ``split`` images into ``out_dir``.

    Images are read by a DataLoader over mmengine's ``DefaultSampler(shuffle=False)``: under
    distributed training (the launcher of training, ``torchrun``) every rank labels its own
    share of the images, each image once. With
    ``evaluate`` the masks are scored against the ground truth (see
    :class:`PseudoMaskEvaluator`); the results are returned (rank 0) and written atomically to
    ``results_json`` if given.

    Args:
        model: stage-1 segmentor with an ``AttentionMiningHead``.
        cfg: the config whose dataset gives the images (and palette, class names).
        out_dir: output folder of the masks.
        split: 'train' or 'val' (or any ``<split>_dataloader`` of the config).
        save_maps, overwrite: see :class:`PseudoMaskWriter`.
        evaluate: score the masks against the ground truth.
        batch_size: images per forward pass.
        results_json: where to write the evaluation results.
        progress: show a progress bar with images/s.
        num_workers: DataLoader worker processes; None takes ``num_workers`` of the
            config's ``<split>_dataloader`` (0 if it has none).
        accumulated: a folder of attention accumulated over training
            (:func:`accumulate_attention`, OAA) to max-fuse with the model's maps before
            labelling; None: the model's maps alone.
        **generator_kwargs: see :class:`PseudoMaskGenerator` (scales, flip, bg_threshold...).

    Returns:
        Evaluation results on rank 0 when ``evaluate``, else None.
    """
    if accumulated is not None and not osp.isdir(accumulated):
        raise FileNotFoundError(f'accumulated attention folder {accumulated!r} does not exist')
    dataset = build_inference_dataset(
        cfg, split, keep_pixel_supervision=generator_kwargs.get('keep_pixel_masks', False))
    meta = dataset.metainfo
    rank, world = get_dist_info()
    # What the masks depend on: the settings, the accumulated maps when fused, and the images
    # that keep their ground truth.
    record = {**generator_kwargs,
              **({'accumulated': osp.abspath(accumulated)} if accumulated else {})}
    if generator_kwargs.get('keep_pixel_masks'):
        record['kept_images'] = sorted(pixel_supervised_stems(dataset))
    check_provenance(out_dir, model, record, overwrite, write=rank == 0)
    # Only rank 0 removes a killed run's temporary files, before any rank writes its own.
    writer = PseudoMaskWriter(out_dir, meta['palette'], overwrite=overwrite, save_maps=save_maps,
                              clean_leftovers=rank == 0)
    barrier()
    generator = PseudoMaskGenerator(model, **generator_kwargs)
    if accumulated is not None:
        generator.accumulator = AttentionAccumulator(accumulated, clean_leftovers=False)
    evaluator = PseudoMaskEvaluator(meta['classes'], crf=generator.crf,
                                    keep=generator.keep_pixel_masks) if evaluate else None
    if num_workers is None:
        num_workers = cfg[f'{split}_dataloader'].get('num_workers', 0)
    indices = list(DefaultSampler(dataset, shuffle=False, round_up=False))
    generator.run(dataset, writer, indices, batch_size, evaluator,
                  progress=progress and rank == 0, num_workers=num_workers)
    if evaluator is None:
        return None
    if world > 1:
        evaluator = PseudoMaskEvaluator.total(all_gather_object(evaluator))
    if rank != 0:
        return None
    results = evaluator.results()
    # What made these masks, beside their figures.
    results['settings'] = settings_record(record)
    print(evaluator.format(), flush=True)
    if results_json:
        write_json(results, results_json)
    return results


def accumulate_attention(model: torch.nn.Module, cfg: Config, folder: str, split: str = 'train',
                         batch_size: int = 8, num_workers: Optional[int] = None,
                         **generator_kwargs) -> int:
    """One step of attention accumulation (OAA): max-fuse ``model``'s attention of ``cfg``'s
    ``split`` images (multi-scale + flip, as the pseudo masks take it) into ``folder``.

    Distributed like :func:`generate_pseudo_masks` (each rank its share of the images).
    The global random state is left as it was: a training that accumulates draws the same
    random numbers as one that does not. Returns the number of images this rank fused.
    """
    dataset = build_inference_dataset(cfg, split)
    rank, _ = get_dist_info()
    accumulator = AttentionAccumulator(folder, clean_leftovers=rank == 0)
    barrier()
    generator = PseudoMaskGenerator(model, **generator_kwargs)
    if num_workers is None:
        num_workers = cfg[f'{split}_dataloader'].get('num_workers', 0)
    indices = list(DefaultSampler(dataset, shuffle=False, round_up=False))
    # A DataLoader draws its base seed from the global generator.
    with torch.random.fork_rng(devices=[]):
        count = generator.accumulate(dataset, accumulator, indices, batch_size, num_workers)
    barrier()
    return count


PROVENANCE = 'made_by.json'


def model_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 of a model's weights (names, shapes and values), hex."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_provenance(out_dir: str, model: torch.nn.Module, settings: dict, overwrite: bool,
                     write: bool = True) -> None:
    """Record what makes the masks of ``out_dir`` (``made_by.json``: the model's weights
    fingerprint and the settings), and refuse — unless ``overwrite`` — to add to a folder
    whose masks another model or other settings made: skipping "existing" masks would mix
    the two silently."""
    # Settings not given are the generator's defaults, in this record and in an older one
    # written before a setting existed.
    record = {'model_sha256': model_fingerprint(model),
              'settings': settings_record({**PSEUDO_MASK_DEFAULTS, **settings})}
    path = osp.join(out_dir, PROVENANCE)
    if osp.exists(path) and not overwrite:
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        old['settings'] = {**settings_record(PSEUDO_MASK_DEFAULTS), **old.get('settings', {})}
        if old != record:
            what = [w for k, w in (('model_sha256', 'weights'), ('settings', 'settings'))
                    if old.get(k) != record[k]]
            changed = sorted(k for k in set(old['settings']) | set(record['settings'])
                             if old['settings'].get(k) != record['settings'].get(k))
            if changed:
                what[-1] += f" ({', '.join(changed)})"
            raise ValueError(f'{out_dir!r} holds pseudo masks made with different '
                             f"{' and '.join(what)} ({path}); rerun with --overwrite, or "
                             'write to another --out')
    if write:
        write_json(record, path)
