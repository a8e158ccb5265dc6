"""Verb packages that are also callable: ``th.pack(model, path)`` and ``thrifty.pack.reader``.

The layout puts each verb in a folder (``thrifty/pack/``) and the API calls the verb as a
function (``th.pack(...)``). Python binds a subpackage to its parent's attribute when it is
imported, which would shadow a function of the same name; so instead the package module itself
is made callable, the documented way to customise a module (assigning its ``__class__``, Python
reference "Customizing module attribute access"). Imports, ``help`` and mocks keep working.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable


def make_callable(module_name: str, function: Callable) -> None:
    """Calling module ``module_name`` calls ``function``."""

    class Verb(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return function(*args, **kwargs)

    Verb.__call__.__doc__ = function.__doc__
    sys.modules[module_name].__class__ = Verb
