"""Hatchling build hook: compile the optional Cython fast paths (`src/safecity/**/*.pyx`) into
extension modules beside their sources, for the wheel and for an editable install alike.

Each `.pyx` speeds up a module that works without it (`safecity.protocols.rtp._packets` for
`access_unit`). Without a C compiler or Python's headers the build goes on as pure Python and
says so; `SAFECITY_REQUIRE_COMPILED=1` makes that an error instead (CI sets it, so a benchmark
figure never silently loses its compiled path).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCES = "src"


class CompiledFastPaths(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:  # noqa: ARG002
        if self.target_name != "wheel":
            return  # the sdist carries the .pyx sources, not what they compile to
        root = Path(self.root)
        sources = sorted((root / SOURCES).rglob("*.pyx"))
        if not sources:
            return
        for source in sources:  # a failed build must not leave an older one to be imported
            for stale in source.parent.glob(f"{source.stem}.*.so"):
                stale.unlink()
        try:
            built = _compile(root, sources)
        except Exception as exc:  # no compiler, no headers: pure Python
            if os.environ.get("SAFECITY_REQUIRE_COMPILED") == "1":
                raise
            self.app.display_warning(
                f"safecity: compiled fast paths not built ({exc}); pure Python"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"] += [path.relative_to(root).as_posix() for path in built]


def _compile(root: Path, sources: list[Path]) -> list[Path]:
    """Build each source in place (next to it, as `build_ext --inplace` does); the paths made."""
    from Cython.Build import cythonize  # noqa: PLC0415 - a build requirement only
    from setuptools import Distribution, Extension  # noqa: PLC0415

    package_root = root / SOURCES
    extensions = [
        Extension(
            ".".join(source.relative_to(package_root).with_suffix("").parts),
            [str(source)],
            extra_compile_args=["-O2"],
        )
        for source in sources
    ]
    with tempfile.TemporaryDirectory(prefix="safecity-build-") as scratch:
        modules = cythonize(
            extensions,
            build_dir=str(Path(scratch) / "c"),
            compiler_directives={"language_level": 3},
            quiet=True,
        )
        dist = Distribution({"ext_modules": modules, "package_dir": {"": str(package_root)}})
        command = dist.get_command_obj("build_ext")
        command.inplace = True
        command.build_temp = str(Path(scratch) / "temp")
        dist.run_command("build_ext")
        built = [Path(command.get_ext_fullpath(ext.name)) for ext in modules]
    made = []
    for path in built:
        target = path if path.is_absolute() else root / path
        if not target.exists():
            raise FileNotFoundError(f"{target} was not built")
        made.append(target)
    return made
