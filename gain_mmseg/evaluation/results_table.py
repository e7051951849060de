"""The pipeline's results table: attention, pseudo-mask and final mIoU per method."""
import json
import os
import os.path as osp
from typing import List, Optional

HEADER = ('| method | attention mIoU (val) | pseudo-mask mIoU (train) | best bg threshold | '
          'pseudo-mask mIoU at best threshold | final mIoU (val, stage 2) |\n'
          '| --- | ---: | ---: | ---: | ---: | ---: |')


def _fmt(value: Optional[float], spec: str = '.2f') -> str:
    return '–' if value is None else format(value, spec)


def format_row(row: dict) -> str:
    """One markdown row from a pipeline row: ``method`` and the JSON outputs of its steps
    (``attention``: stage-1 val metrics, ``pseudo``: pseudo-mask evaluation, ``final``:
    stage-2 val metrics); a missing step shows as –."""
    att, pseudo, final = row.get('attention') or {}, row.get('pseudo') or {}, row.get('final') or {}
    return (f"| {row['method']} | {_fmt(att.get('mIoU'))} | {_fmt(pseudo.get('mIoU'))} | "
            f"{_fmt(pseudo.get('best_threshold'))} | {_fmt(pseudo.get('best_mIoU'))} | "
            f"{_fmt(final.get('mIoU'))} |")


def write_results(rows: List[dict], out_dir: str) -> str:
    """Write ``results.md`` and ``results.json`` into ``out_dir`` (atomically); return the
    markdown table."""
    table = '\n'.join([HEADER, *map(format_row, rows)]) + '\n'
    os.makedirs(out_dir, exist_ok=True)
    for name, text in (('results.md', table), ('results.json', json.dumps(rows, indent=2))):
        tmp = osp.join(out_dir, f'.{name}.tmp-{os.getpid()}')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, osp.join(out_dir, name))
    return table
