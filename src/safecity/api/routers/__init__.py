"""One router per resource; each route names its scope rule with `deps.scoped`."""
