"""The demo's alarm accounts: spread over the demo city, half keyed, keys derivable for panels."""

from __future__ import annotations

from pathlib import Path

from safecity.app import open_platform
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, demo_account_key, seed_demo_accounts, seed_demo_city
from safecity.settings import load_settings
from safecity.store.secretbox import SecretBox


async def test_demo_accounts_cover_the_city_and_half_have_derivable_keys(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'demo.db'}"},
        security={"master_key": SecretBox.new_key()},
    )
    async with open_platform(settings) as platform:
        services = platform.services
        await seed_demo_city(services)

        created = await seed_demo_accounts(services)

        assert len(created) == 300
        assert created[0] == ("A00001", demo_account_key("A00001"))
        assert created[1] == ("A00002", None)
        assert sum(key is not None for _, key in created) == 150
        page = await services.alarm_accounts.list(SEED_SCOPE, PageRequest(limit=1000))
        assert page.total == 300
        assert all(2 <= len(a.zones) <= 4 for a in page.items)
        assert all(a.point_id is not None and a.supervision_s == 300 for a in page.items)
        assert any(a.schedule is not None for a in page.items)
        assert any(a.schedule is None for a in page.items)
        assert len({a.point_id for a in page.items}) > 10
        keys = await services.alarm_accounts.receiver_keys()
        first = keys["A00001"].key
        assert first is not None
        assert first.raw == bytes.fromhex(demo_account_key("A00001"))
