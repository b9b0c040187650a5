"""Fuzz the DC-09 codec: FrameDecoder, parse_frame and Dc09Receiver must never raise anything
but Dc09Error, whatever bytes arrive.

Run: python benchmarks/dc09_fuzz.py [--count 1000000] [--seed 1]

Inputs are drawn from: random bytes (with LF and CR sprinkled in), valid frames of every token,
plain and AES-128/192/256 encrypted, and mutations of them (bit flips, byte overwrites,
insertions, deletions, truncation, splices of two frames, mutations with the CRC and length
fixed up so that the parser behind the CRC check is exercised). Each input is fed in random
splits to a long-lived FrameDecoder (each frame then to parse_frame) and Dc09Receiver
(each accepted message then decoded and ACKed). Any other exception stops the run loudly.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from safecity.protocols.dc09 import (
    AccountKey,
    AesKey,
    Dc09Error,
    Dc09Message,
    Dc09Receiver,
    FrameDecoder,
    MessageReceived,
    Token,
    crc16_arc,
    format_contact_id,
    format_sia_data,
    parse_frame,
)

NOW: Final = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
KEYS: Final = {
    "1111": AesKey(bytes(range(16))),
    "2222": AesKey(bytes(range(24))),
    "3333": AesKey(bytes(range(32))),
}
ACCOUNTS: Final = {
    "4444": AccountKey(None),
    "5555": AccountKey(KEYS["1111"], require_encryption=True),
    **{account: AccountKey(key) for account, key in KEYS.items()},
}


def key_for(account: str) -> AesKey | None:
    known = ACCOUNTS.get(account)
    return known.key if known is not None else None


def valid_frames(rng: random.Random, count: int) -> list[bytes]:
    frames = []
    for n in range(count):
        token = list(Token)[n % len(Token)]
        account = rng.choice(list(ACCOUNTS))
        encrypted = token not in (Token.NAK, Token.DUH) and key_for(account) is not None
        encrypted = encrypted and rng.random() < 0.7
        data = ""
        if token is Token.ADM_CID:
            code = rng.choice(["130", "110", "401", "602", "999"])
            data = format_contact_id(rng.choice([1, 3, 6]), code, rng.randint(0, 99), n % 1000)
        elif token is Token.SIA_DCS:
            data = format_sia_data(rng.choice(["BA", "FA", "CL", "RP", "QZ"]), n % 999, n % 9)
        message = Dc09Message(
            token=token,
            sequence=n % 10000,
            receiver=rng.choice([None, "1", "ABC"]),
            line=rng.choice(["0", "1F"]),
            account=account,
            data=data,
            extended=rng.choice([(), ("Vhttp://x/1",), ("M0026b9e4268b", "I2nd floor")]),
            timestamp=NOW + timedelta(seconds=rng.randint(-60, 30)),
            encrypted=encrypted,
        )
        frames.append(message.encode(key_for(account), rng))
    return frames


def random_bytes(rng: random.Random, _: list[bytes]) -> bytes:
    raw = bytearray(rng.randbytes(rng.randint(0, 300)))
    for _n in range(rng.randint(0, 4)):
        if raw:
            raw[rng.randrange(len(raw))] = rng.choice(b'\n\r"[]|#*_')
    return bytes(raw)


def bit_flips(rng: random.Random, pool: list[bytes]) -> bytes:
    raw = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 4)):
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return bytes(raw)


def overwrite_insert_delete(rng: random.Random, pool: list[bytes]) -> bytes:
    raw = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(raw))
        match rng.randrange(3):
            case 0:
                raw[at] = rng.randrange(256)
            case 1:
                raw.insert(at, rng.randrange(256))
            case _:
                del raw[at]
    return bytes(raw)


def truncation(rng: random.Random, pool: list[bytes]) -> bytes:
    raw = rng.choice(pool)
    return raw[: rng.randrange(len(raw))] if rng.random() < 0.5 else raw[rng.randrange(len(raw)) :]


def splice(rng: random.Random, pool: list[bytes]) -> bytes:
    a, b = rng.choice(pool), rng.choice(pool)
    return a[: rng.randrange(len(a))] + b[rng.randrange(len(b)) :]


def fixed_crc_mutation(rng: random.Random, pool: list[bytes]) -> bytes:
    """Mutate the body, then recompute CRC and length: the parser behind them must cope."""
    body = bytearray(rng.choice(pool)[9:-1])
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(body))
        body[at] = rng.choice(b'0123456789ABCDEF"#[]|_*:,-RLAN ') if rng.random() < 0.8 else 0
    return b"\n%04X0%03X%b\r" % (crc16_arc(bytes(body)), len(body) & 0xFFF, bytes(body))


def stream(rng: random.Random, pool: list[bytes]) -> bytes:
    """Several valid frames with garbage between them."""
    parts = [rng.randbytes(rng.randint(0, 8)).replace(b"\n", b"") + rng.choice(pool)]
    parts += [rng.choice(pool) for _ in range(rng.randint(0, 3))]
    return b"".join(parts)


GENERATORS: Final[tuple[Callable[[random.Random, list[bytes]], bytes], ...]] = (
    random_bytes,
    bit_flips,
    overwrite_insert_delete,
    truncation,
    splice,
    fixed_crc_mutation,
    stream,
)


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 3)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def run(count: int, seed: int) -> tuple[float, Counter[str]]:
    rng = random.Random(seed)
    pool = valid_frames(rng, 300)
    decoder = FrameDecoder()
    receiver = Dc09Receiver(ACCOUNTS.get, rng=random.Random(seed + 1))
    tally: Counter[str] = Counter()
    started = time.perf_counter()
    for n in range(count):
        data = GENERATORS[n % len(GENERATORS)](rng, pool)
        try:
            for piece in chunks(rng, data):
                for item in decoder.feed(piece):
                    if isinstance(item, bytes):
                        try:
                            parse_frame(item, key_for)
                            tally["parse: message"] += 1
                        except Dc09Error as exc:
                            tally[f"parse: {exc.reason}"] += 1
                for event in receiver.receive_data(piece, NOW):
                    if isinstance(event, MessageReceived):
                        tally["receiver: received"] += 1
                        try:
                            event.message.signals()
                        except Dc09Error:
                            tally["receiver: signals malformed"] += 1
                        receiver.ack(event, NOW)
                    else:
                        tally[f"receiver: {event.reason}"] += 1
        except Exception:  # noqa: BLE001 - anything but Dc09Error escaping is the finding
            traceback.print_exc()
            print(f"FAILED on input {n} (seed {seed}): {data!r}", file=sys.stderr)
            raise SystemExit(1) from None
    return time.perf_counter() - started, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to generate")
    parser.add_argument("--seed", type=int, default=1, help="seed of the input generator")
    args = parser.parse_args()
    elapsed, tally = run(args.count, args.seed)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )
    print(f"{'inputs':>10}{'seconds':>10}{'inputs/s':>10}  exceptions other than Dc09Error: 0")
    print(f"{args.count:>10}{elapsed:>10.1f}{args.count / elapsed:>10.0f}")
    for outcome, n in sorted(tally.items()):
        print(f"  {outcome:<32}{n:>10}")


if __name__ == "__main__":
    main()
