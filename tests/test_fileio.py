"""Atomic writes: the old file or the new one, never half of one, and no temporary left."""
import json
import os

import pytest

from gain_mmseg.fileio import TMP_MARK, atomic_path, write_json


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'sub' / 'results.json'
    write_json({'mIoU': 1.0}, str(path))
    with pytest.raises(RuntimeError), atomic_path(str(path)) as tmp:
        with open(tmp, 'w') as f:
            f.write('{"mIoU": 2')  # half written when the writer fails
        raise RuntimeError('killed mid-write')
    assert json.loads(path.read_text()) == {'mIoU': 1.0}
    assert os.listdir(path.parent) == ['results.json']


def test_the_temporary_is_hidden_marked_and_keeps_the_suffix(tmp_path):
    with atomic_path(str(tmp_path / 'grid.png'), suffix='.png') as tmp:
        name = os.path.basename(tmp)
        assert name.startswith('.grid.png') and TMP_MARK in name and name.endswith('.png')
        open(tmp, 'wb').close()
    assert os.listdir(tmp_path) == ['grid.png']
