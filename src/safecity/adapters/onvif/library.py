"""The one import of onvif-zeep-async, without its side effect on logging.

`onvif.client` calls `logging.basicConfig(level=logging.INFO)` when imported: it would put a
stderr handler on the root logger and lower its level for the whole process. We put the root
logger back as it was; every other module of this adapter imports the library from here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

_root = logging.getLogger()
_level, _handlers = _root.level, list(_root.handlers)
try:
    import onvif
    from onvif import ONVIFCamera
    from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError
finally:
    for _handler in [h for h in _root.handlers if h not in _handlers]:
        _root.removeHandler(_handler)
    _root.setLevel(_level)

WSDL_DIR: Final = str(Path(onvif.__file__).parent / "wsdl")

__all__ = ["WSDL_DIR", "ONVIFAuthError", "ONVIFCamera", "ONVIFError", "ONVIFTimeoutError"]
