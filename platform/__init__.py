"""Quanyi's Django project package, and a complete stand-in for the standard library's `platform`.

The design card names this package `platform/`, which shadows the standard library module of the
same name whenever the repository root is first on `sys.path` (manage.py, Celery, pytest). The
standard library module is loaded from its file and every public and private name it defines is
re-exported here, so `platform.system()`, `uuid`, Django, boto3 and stripe keep working.
This module must not import Django or anything heavy: the standard library imports it early.
"""

import importlib.util as _importlib_util
import os as _os
import sysconfig as _sysconfig

_STDLIB_PLATFORM_PATH = _os.path.join(_sysconfig.get_paths()["stdlib"], "platform.py")
_spec = _importlib_util.spec_from_file_location("_quanyi_stdlib_platform", _STDLIB_PLATFORM_PATH)
if _spec is None or _spec.loader is None:  # pragma: no cover - a broken Python installation
    raise ImportError(f"cannot load the standard library platform module from {_STDLIB_PLATFORM_PATH}")
stdlib_platform = _importlib_util.module_from_spec(_spec)
_spec.loader.exec_module(stdlib_platform)

_MODULE_DUNDERS = {
    "__name__",
    "__file__",
    "__path__",
    "__spec__",
    "__loader__",
    "__package__",
    "__doc__",
    "__builtins__",
    "__cached__",
}
for _name, _value in vars(stdlib_platform).items():
    if _name not in _MODULE_DUNDERS:
        globals()[_name] = _value

del _name, _value
