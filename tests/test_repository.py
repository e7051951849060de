"""The README's commands are the ones CI and users run."""
import os.path as osp
import re

from conftest import REPO


def _read(path: str) -> str:
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return f.read()


def test_ci_runs_the_readme_test_command():
    readme = _read('README.md')
    commands = re.findall(r'^make (\w+)', readme, flags=re.M)
    assert commands[:2] == ['demo', 'test']
    assert re.search(r'^make test$', _read('.ci/run'), flags=re.M)


def test_make_targets_share_the_install_step():
    makefile = _read('Makefile')
    for target in ('demo', 'test'):
        body = re.search(rf'^{target}:\n((?:\t.*\n)+)', makefile, flags=re.M).group(1)
        assert '$(WITH_ENV)' in body
    assert 'tools/install_env.sh' in makefile
