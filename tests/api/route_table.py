"""The app's HTTP routes with their scope rules, read from a real app's OpenAPI document (every
route in the schema; FastAPI keeps included routers nested, the document lists them flat)."""

from __future__ import annotations

from typing import Any

from safecity.api.app import create_api
from safecity.api.deps import SCOPE_KEY


def routes() -> list[tuple[str, str, dict[str, Any] | None]]:
    app = create_api(services=_Unused())  # type: ignore[arg-type]
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            found.append((method.upper(), path, operation.get(SCOPE_KEY)))
    return sorted(found)


class _Unused:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"listing routes must not touch services ({name})")
