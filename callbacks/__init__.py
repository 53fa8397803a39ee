"""Dash callbacks, one module per page; importing this package registers them all.

Dash keeps ``dash.callback`` registrations in a global list that the first app to serve a
request takes over (and empties). :func:`register` puts them back for another app made in the
same process (the tests make one per module); a production process makes one app.
"""

import importlib
import pkgutil

from dash import _callback

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

_LIST = list(_callback.GLOBAL_CALLBACK_LIST)
_MAP = dict(_callback.GLOBAL_CALLBACK_MAP)
_SCRIPTS = list(_callback.GLOBAL_INLINE_SCRIPTS)  # clientside callbacks' code


def register() -> None:
    """Make every page's callbacks available to the next app created in this process."""
    for entry in _LIST:
        if entry not in _callback.GLOBAL_CALLBACK_LIST:
            _callback.GLOBAL_CALLBACK_LIST.append(entry)
    for output, entry in _MAP.items():
        _callback.GLOBAL_CALLBACK_MAP.setdefault(output, entry)
    for script in _SCRIPTS:
        if script not in _callback.GLOBAL_INLINE_SCRIPTS:
            _callback.GLOBAL_INLINE_SCRIPTS.append(script)
