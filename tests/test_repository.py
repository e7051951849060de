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


def test_makefile_ablation_rows_are_rows_of_the_ablation_tool():
    """`make ablate` / `make ablate-real` name their rows in Makefile variables and in
    `--stage2`: a misspelt row would only fail after the rows before it have trained."""
    import sys
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import ablate

    makefile = re.sub(r'\\\n\s*', ' ', _read('Makefile'))
    variables = dict(re.findall(r'^(\w+_(?:ROWS|SCREEN|PAIRS)) = (.*)$', makefile,
                                flags=re.M))
    assert {'DEMO_ROWS', 'PHOTO_ROWS', 'PHOTO_SCREEN', 'LINEAR_AREA_SCREEN',
            'LINEAR_PAIRS'} <= set(variables)
    named = [row for value in variables.values() for pair in value.split()
             for row in pair.split(':')]
    for line in makefile.splitlines():
        tokens = line.split()
        for i in (i for i, token in enumerate(tokens) if token == '--stage2'):
            rows = tokens[i + 1:]
            named += rows[:next((j for j, t in enumerate(rows) if t.startswith('-')),
                                len(rows))]
    unknown = sorted(set(named) - set(ablate.ROWS))
    assert not unknown, f'Makefile names rows that tools/ablate.py does not define: {unknown}'
    assert 'default+crf' in named and 'default+alpha1' in named
