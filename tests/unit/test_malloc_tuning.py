"""When `serve` and `demo` restart themselves with glibc's heap tunables, and when not."""

from __future__ import annotations

import platform
import sys

import pytest

from safecity.malloc_tuning import glibc_version, huge_pages_on_request, tunables_wanted

MADVISE = "always [madvise] never\n"
GLIBC = (2, 36)


@pytest.mark.parametrize("command", [["serve"], ["demo"], ["serve", "--config", "x.yaml"]])
def test_the_long_running_commands_want_the_tunables(command: list[str]) -> None:
    assert tunables_wanted(command, {}, GLIBC, MADVISE)


@pytest.mark.parametrize("command", [[], ["sim"], ["admin"], ["--help"], ["evidence"]])
def test_short_commands_start_as_they_are(command: list[str]) -> None:
    assert not tunables_wanted(command, {}, GLIBC, MADVISE)


@pytest.mark.parametrize("chosen", ["", "glibc.malloc.arena_max=4"])
def test_a_choice_already_made_is_kept_even_an_empty_one(chosen: str) -> None:
    assert not tunables_wanted(["serve"], {"GLIBC_TUNABLES": chosen}, GLIBC, MADVISE)


def test_a_glibc_before_huge_page_support_or_another_c_library_is_left_alone() -> None:
    assert not tunables_wanted(["serve"], {}, (2, 34), MADVISE)
    assert not tunables_wanted(["serve"], {}, None, MADVISE)
    assert tunables_wanted(["serve"], {}, (2, 35), MADVISE)
    assert tunables_wanted(["serve"], {}, (3, 0), MADVISE)


@pytest.mark.parametrize(
    ("modes", "granted"),
    [
        ("[always] madvise never", True),
        ("always [madvise] never", True),
        ("always madvise [never]", False),
        ("", False),  # no such file: a kernel without transparent huge pages
    ],
)
def test_huge_pages_count_only_where_the_kernel_grants_them(modes: str, granted: bool) -> None:
    assert huge_pages_on_request(modes) is granted
    assert tunables_wanted(["demo"], {}, GLIBC, modes) is granted


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc is a Linux C library")
def test_the_running_glibc_is_read_as_the_platform_module_reads_it() -> None:
    library, version = platform.libc_ver()
    if library != "glibc":
        assert glibc_version() is None
        return
    major, minor = (int(part) for part in version.split(".")[:2])
    assert glibc_version() == (major, minor)
