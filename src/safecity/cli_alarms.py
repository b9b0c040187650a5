"""`safecity alarms ...`: the alarm centre from a terminal.

`safecity alarms tail` follows the alarm events of a running server over its WebSocket
(`/api/events?subjects=alarms.>`) and prints one line per event until Ctrl-C:

    2026-03-01T02:00:03Z  P2 new      #41  acct 1234  130  盗警 - 防区15 后门 / Burglary -
    zone 15 Back door  zone 15  cams 7,9          (one line on the terminal)

A change (acknowledged, escalated, ...) prints the same columns, filled in from the alarm's
earlier line when this session saw it raised.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit, urlunsplit

import typer
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

alarms_app = typer.Typer(help="The alarm receiving centre", no_args_is_help=True)


def events_url(base: str, subjects: str, token: str) -> str:
    """The WebSocket address of a server's event stream (`http[s]://host:port` in)."""
    parts = urlsplit(base)
    scheme = {"https": "wss", "wss": "wss"}.get(parts.scheme, "ws")
    query = f"subjects={quote(subjects, safe='')}&token={quote(token, safe='')}"
    return urlunsplit((scheme, parts.netloc, "/api/events", query, ""))


def _when(text: str | None) -> str:
    if not text:
        return "-"
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return text


def format_event(message: dict[str, Any], seen: dict[int, dict[str, Any]]) -> str | None:
    """One line for an alarm event (None for any other event); remembers raised alarms in
    `seen` so later changes print with their account, code and title."""
    event = message.get("event", {})
    kind = event.get("kind")
    if kind not in ("alarm_raised", "alarm_changed"):
        return None
    alarm_id = int(event["alarm_id"])
    if kind == "alarm_raised":
        seen[alarm_id] = event
        known, state = event, "new"
    else:
        known, state = seen.get(alarm_id, {}), str(event.get("state", "?"))
    change = "" if kind == "alarm_raised" else f" ({event.get('change')})"
    title_zh, title_en = known.get("title_zh") or "", known.get("title_en") or ""
    title = " / ".join(t for t in (title_zh, title_en) if t) or "-"
    zone = known.get("zone")
    cameras = ",".join(str(c) for c in known.get("cameras") or []) or "-"
    flags = " confirmed" if event.get("confirmed") else ""
    return (
        f"{_when(event.get('at'))}  P{event.get('priority', '?')} {state + change:<26}"
        f" #{alarm_id:<5} acct {known.get('account', '?'):<8} {known.get('code', '?'):<5}"
        f" {title}  zone {zone if zone is not None else '-'}  cams {cameras}{flags}"
    )


async def tail_events(url: str) -> None:
    """Print each alarm event from the stream at `url` until it closes or we are cancelled."""
    seen: dict[int, dict[str, Any]] = {}
    async with connect(url) as socket:
        async for raw in socket:
            line = format_event(json.loads(raw), seen)
            if line is not None:
                typer.echo(line)


@alarms_app.command("tail")
def tail(
    url: Annotated[str, typer.Option(help="The server's base URL")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None, typer.Option(help="A session token (safecity login)", envvar="SAFECITY_TOKEN")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="An API key instead of a token", envvar="SAFECITY_API_KEY")
    ] = None,
    subjects: Annotated[str, typer.Option(help="Which alarm events")] = "alarms.>",
) -> None:
    """Print the alarm events of a running server, one line each, until Ctrl-C."""
    secret = token or api_key
    if not secret:
        typer.echo("error: give --token or --api-key", err=True)
        raise typer.Exit(2)
    try:
        asyncio.run(tail_events(events_url(url, subjects, secret)))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except ConnectionClosed as exc:
        reason = exc.rcvd.reason if exc.rcvd is not None else "connection lost"
        typer.echo(f"error: the server closed the stream: {reason}", err=True)
        raise typer.Exit(1) from exc
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        typer.echo(f"error: cannot follow {url}: {exc}", err=True)
        raise typer.Exit(1) from exc
