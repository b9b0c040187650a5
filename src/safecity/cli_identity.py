"""Who the command line acts as: a system administrator over the whole tree, audited by the
operating-system account that ran it (`cli:alice`)."""

from __future__ import annotations

import getpass

from safecity.core.scope import Role, Scope


def cli_scope() -> Scope:
    return Scope(user_id=0, username=f"cli:{getpass.getuser()}", role=Role.ADMIN, org_path="/")
