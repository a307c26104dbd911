"""Import a tool script (``tools/``, ``projects/*/tools/``) as a module, so tests can call
its functions and main()."""
import importlib.util
import os.path as osp

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))


def load_tool(path: str):
    """The module of the script at ``path`` relative to the repository root (e.g.
    ``'projects/demo_world/tools/headroom.py'``), freshly executed."""
    file = osp.join(ROOT, path)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(file))[0], file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
