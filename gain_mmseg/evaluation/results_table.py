"""The pipeline's results tables: attention, pseudo-mask and final mIoU per method, and the
stage-2 models in the columns of mmseg's results tables."""
import os.path as osp
from typing import List, Optional

from gain_mmseg.fileio import write_json, write_text

HEADER = ('| method | attention mIoU (val) | pseudo-mask mIoU (train) | best bg threshold | '
          'pseudo-mask mIoU at best threshold | final mIoU (val, stage 2) |\n'
          '| --- | ---: | ---: | ---: | ---: | ---: |')


MODEL_HEADER = ('| method | backbone | crop size | schedule | memory (MiB) | '
                'inference time (ms/image) | mIoU | mIoU (test-time aug.) | config | '
                'checkpoint |\n'
                '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |')


def _fmt(value: Optional[float], spec: str = '.2f') -> str:
    return '–' if value is None else format(value, spec)


def format_row(row: dict) -> str:
    """One markdown row from a pipeline row: ``method`` and the JSON outputs of its steps
    (``attention``: stage-1 val metrics, ``pseudo``: pseudo-mask evaluation, ``final``:
    stage-2 val metrics); a missing step shows as –."""
    att, pseudo, final = row.get('attention') or {}, row.get('pseudo') or {}, row.get('final') or {}
    kept = (f" ({pseudo['num_kept']} ground-truth masks kept; the others "
            f"{_fmt(pseudo.get('mIoU_attention'))})" if pseudo.get('num_kept') else '')
    return (f"| {row['method']} | {_fmt(att.get('mIoU'))} | {_fmt(pseudo.get('mIoU'))}{kept} | "
            f"{_fmt(pseudo.get('best_threshold'))} | {_fmt(pseudo.get('best_mIoU'))}"
            f"{' (before the CRF)' if pseudo.get('crf') else ''} | "
            f"{_fmt(final.get('mIoU'))} |")


def format_model_row(row: dict) -> str:
    """One markdown row from a pipeline row's ``model`` (see ``tools/run_pipeline.py``) and
    its ``final`` metrics."""
    m, final = row['model'], row.get('final') or {}
    crop = 'x'.join(map(str, m['crop_size'])) or '–'
    memory = _fmt(m['memory_mib'], '.0f')
    if m['memory_mib'] is not None:
        memory += f" ({m['memory_kind']})"
    return (f"| {row['method']} | {m['backbone']} | {crop} | {m['iters']} it | {memory} | "
            f"{_fmt(m['ms_per_image'], '.1f')} | {_fmt(final.get('mIoU'))} | "
            f"{_fmt(m['mIoU_tta'])} | {m['config']} | {m['checkpoint']} |")


def results_markdown(rows: List[dict]) -> str:
    """The mIoU table of all rows, then the stage-2 model table of those that have one."""
    table = '\n'.join([HEADER, *map(format_row, rows)]) + '\n'
    models = [format_model_row(row) for row in rows if row.get('model')]
    if models:
        table += '\nStage-2 models:\n\n' + '\n'.join([MODEL_HEADER, *models]) + '\n'
    return table


def write_results(rows: List[dict], out_dir: str) -> str:
    """Write ``results.md`` and ``results.json`` into ``out_dir`` (atomically); return the
    markdown."""
    table = results_markdown(rows)
    write_text(table, osp.join(out_dir, 'results.md'))
    write_json(rows, osp.join(out_dir, 'results.json'))
    return table
