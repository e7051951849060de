"""Files written whole or not at all: each goes to a hidden temporary name in its folder and is
renamed into place, so a killed run leaves either the old file or the new one, never half of
one. The temporary names carry :data:`TMP_MARK`, which lets a rerun find a killed run's
leftovers."""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator

TMP_MARK = '.tmp-'


@contextmanager
def atomic_path(path: str, suffix: str = '') -> Iterator[str]:
    """Yield a temporary path beside ``path`` (``.<name>.tmp-<pid><suffix>``; ``suffix`` for
    writers that choose the format by extension), creating the folder; when the block ends
    without error, rename it to ``path``. The temporary file never outlives the block."""
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{name}{TMP_MARK}{os.getpid()}{suffix}')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_text(text: str, path: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)


def write_json(data, path: str) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text(json.dumps(data, indent=2), path)
