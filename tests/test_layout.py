"""The repository's layout holds: the library imports no project and no test, its layers
import only downward, every registry location exists, projects import as modules from
anywhere, and no code reaches its helpers through ``sys.path``."""
import ast
import importlib
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
LIBRARY = osp.join(ROOT, 'mmdatasetdm')


def _python_files(folder):
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        yield from (osp.join(root, f) for f in sorted(files) if f.endswith('.py'))


def _imported_modules(path):
    """Absolute module names a file imports (relative imports resolved)."""
    package = osp.relpath(osp.dirname(path), ROOT).replace(os.sep, '.')
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def _imports_of(folder):
    return {osp.relpath(path, ROOT): sorted(set(_imported_modules(path)))
            for path in _python_files(folder)}


def test_the_library_imports_no_project_and_no_test():
    bad = {f: [m for m in mods if m.split('.')[0] in ('projects', 'tests', 'tools')]
           for f, mods in _imports_of(LIBRARY).items()}
    assert not {f: m for f, m in bad.items() if m}


@pytest.mark.parametrize('layer', ['diffusion', 'fileio'])
def test_bottom_layers_know_no_openmmlab_and_nothing_above(layer):
    """``diffusion/`` (the frozen generator) and ``fileio/`` (formats) stand alone."""
    found = {}
    for f, mods in _imports_of(osp.join(LIBRARY, layer)).items():
        wrong = [m for m in mods if m.split('.')[0] in ('mmengine', 'mmcv', 'mmseg', 'mmdet',
                                                        'mmpose')
                 or (m.startswith('mmdatasetdm.') and not m.startswith(f'mmdatasetdm.{layer}'))]
        if wrong:
            found[f] = wrong
    assert not found


def test_every_registry_location_imports():
    from mmdatasetdm import registry
    registries = [v for v in vars(registry).values()
                  if type(v).__name__ == 'Registry' and v.scope == 'mmdatasetdm']
    assert {r.name for r in registries} == {'model', 'dataset', 'transform', 'prompt source',
                                            'data sampler', 'hook'}
    for reg in registries:
        assert reg._locations, reg.name
        for location in reg._locations:
            importlib.import_module(location)


def test_no_code_reaches_modules_through_sys_path():
    offenders = []
    for folder in ('mmdatasetdm', 'tools', 'projects'):
        for path in _python_files(osp.join(ROOT, folder)):
            if 'sys.path' in open(path, encoding='utf-8').read():
                offenders.append(osp.relpath(path, ROOT))
    assert not offenders


def test_no_document_outside_the_repository_is_cited():
    out = subprocess.run(['git', 'grep', '-n', '-I', 'DESIGN' + '.md', '--', '.'], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.stdout == ''


def test_projects_import_from_anywhere_without_pythonpath(tmp_path):
    """The editable install puts the repository root on the path, so configs' custom_imports
    and the project tools find ``projects.*`` from any working directory."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    code = ('import projects.demo_world.demo_world as w, projects.tiny_sd.tiny_sd as t; '
            'from mmdatasetdm.registry import DATASETS, PROMPTS; '
            'print(w.WORLD_VERSION, t.TinySDRecipe.__name__, '
            'DATASETS.get("DemoWorldSegDataset").__name__, '
            'PROMPTS.get("DemoWorldPrompts").__name__)')
    out = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['4', 'TinySDRecipe', 'DemoWorldSegDataset', 'DemoWorldPrompts']
    tool = osp.join(ROOT, 'projects', 'demo_world', 'tools', 'make_demo_world.py')
    out = subprocess.run([sys.executable, tool, '--help'], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0 and 'demo world' in out.stdout, out.stderr
