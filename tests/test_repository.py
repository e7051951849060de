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


def test_configs_readme_and_metafile_name_every_config_that_exists():
    import glob

    import yaml
    from mmengine.config import Config

    readme = _read('configs/gain/README.md')
    linked = set(re.findall(r'\]\(([\w./-]+\.py)\)', readme))
    shipped = {osp.relpath(p, osp.join(REPO, 'configs/gain'))
               for p in glob.glob(osp.join(REPO, 'configs/gain/*.py'))}
    assert shipped <= linked, f'configs missing from configs/gain/README.md: {shipped - linked}'
    for path in linked:
        assert osp.isfile(osp.join(REPO, 'configs/gain', path)), path
    meta = yaml.safe_load(_read('configs/gain/metafile.yml'))
    assert meta['Collections'][0]['README'] == 'configs/gain/README.md'
    for model in meta['Models']:
        cfg = Config.fromfile(osp.join(REPO, model['Config']))
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert cfg.model.type in ('GAINEncoderDecoder', 'EncoderDecoder')
        assert model['Results'][0]['Metrics']['mIoU'] > 0
