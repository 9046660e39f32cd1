"""Seeded randomness: DIDs, TIDs, codes and fake profile data all come from here."""

from __future__ import annotations

import random
import re
import secrets
from typing import Any

from faker import Faker

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
SEED_MAX = 2**63
"""Seeds are whole numbers below this: larger ones would not survive a JSON round trip as integers."""
SORTABLE_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_PAIRS = tuple(a + b for a in SORTABLE_B32 for b in SORTABLE_B32)
"""Every two sortable base32 characters, by the 10 bits they stand for."""
TID_EPOCH = 1_767_225_600_000_000
"""2026-01-01T00:00:00Z in microseconds: where the id counter starts."""


class Ids:
    """One seeded source of every random value the server hands out.

    With the same seed and the same calls, the same ids come out in the same order.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.secrets_from_seed = False
        """Made-up passwords come from the seed too (``Config.deterministic_tokens``)."""
        self.faker = Faker("en_US")
        self.rng = random.Random()
        self._tid_last = 0
        self.reset()

    def reset(self) -> None:
        """Start the sequence again from the seed (a fresh random one when unseeded)."""
        self.rng.seed(self.seed)
        self.faker.seed_instance(self.rng.getrandbits(64))
        self._tid_last = 0

    def dump(self) -> dict[str, Any]:
        """Where the sequence stands, as JSON (so a loaded state goes on with the same ids)."""
        return {
            "seed": self.seed,
            "rng": _plain_state(self.rng.getstate()),
            "faker": _plain_state(self.faker.random.getstate()),
            "tidLast": self._tid_last,
        }

    def check(self, data: dict[str, Any]) -> None:
        """Raise (KeyError, TypeError, ValueError, OverflowError) if :meth:`load` could not take
        ``data``; change nothing."""
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
            raise TypeError(f"ids.seed must be an integer, a string or null, not {seed!r}")
        if "rng" in data or "faker" in data:  # both or neither (a readable snapshot has neither)
            random.Random().setstate(_random_state(data["rng"]))
            random.Random().setstate(_random_state(data["faker"]))
        if isinstance(data["tidLast"], bool) or not isinstance(data["tidLast"], int):
            raise TypeError(f"ids.tidLast must be an integer, not {data['tidLast']!r}")
        if not 0 <= data["tidLast"] < TID_MAX:
            raise ValueError(f"ids.tidLast must be from 0 to {TID_MAX - 1}: revs past it would not sort in order")
        if seed is not None and isinstance(seed, int) and not 0 <= seed < SEED_MAX:
            raise ValueError(f"ids.seed must be from 0 to {SEED_MAX - 1}")

    def load(self, data: dict[str, Any]) -> None:
        """Continue from a position given by :meth:`dump`."""
        self.seed = data.get("seed")
        if "rng" in data:
            self.rng.setstate(_random_state(data["rng"]))
            self.faker.random.setstate(_random_state(data["faker"]))
        else:  # only the seed and the position: draw on from a generator made of both
            self.rng.seed(f"{self.seed}:{data['tidLast']}")
            self.faker.seed_instance(self.rng.getrandbits(64))
        self._tid_last = int(data["tidLast"])

    def did(self) -> str:
        """A new ``did:plc:`` identifier: 24 base32 characters."""
        return "did:plc:" + "".join(self.rng.choice(BASE32) for _ in range(24))

    def password(self) -> str:
        """A made-up password: from the seed only when ``secrets_from_seed`` (deterministic tokens);
        otherwise random per run, as a seed makes ids and names, not the keys to accounts. The
        seeded generator is drawn from either way, so every id after it stays the same."""
        drawn = self.token(12)
        return drawn if self.secrets_from_seed else secrets.token_urlsafe(9)

    def token(self, length: int = 16) -> str:
        """A random lowercase alphanumeric string (passwords, codes, token ids)."""
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def tid(self) -> str:
        """A timestamp-shaped identifier (13 sortable base32 chars), later than every one before.

        It counts from a fixed point (2026-01-01) in seeded random steps instead of reading the
        clock, so the same seed and the same calls give the same ids and revs at any time.
        """
        self._tid_last = max(self._tid_last, TID_EPOCH) + self.rng.randint(1, 1000)
        return _tid_text(self._tid_last)

    def catch_up(self, counter: int) -> None:
        """Never hand out a rev at or before ``counter`` (a state loaded without the generator's position)."""
        self._tid_last = max(self._tid_last, counter)

    @property
    def last(self) -> int:
        """The counter of the newest rev handed out (0 before any)."""
        return self._tid_last

    def head(self) -> str:
        """The newest rev handed out (or the start, before any): every later :meth:`tid` sorts after it.

        Reading it draws nothing from the generator, so it never shifts later ids.
        """
        return _tid_text(max(self._tid_last, TID_EPOCH))

    def handle(self, domain: str = "test", taken: set[str] | frozenset[str] = frozenset()) -> str:
        """A plausible, unused handle such as ``maria-lopez.test``."""
        for _ in range(1000):
            base = re.sub(r"[^a-z0-9]+", "-", self.faker.user_name().lower()).strip("-")
            if not base or not base[0].isalpha():
                base = "user-" + base
            handle = f"{base[:40]}.{domain}"
            if handle not in taken:
                return handle
        return f"user-{self.token(10)}.{domain}"

    def display_name(self) -> str:
        """A fake person's name."""
        return str(self.faker.name())


TID_MAX = 2**55
"""Counters past this no longer fit 13 characters (a rev would wrap and sort before older ones)."""


def tid_counter(rev: str) -> int | None:
    """The counter a rev of this mock's shape stands for (None for any other text)."""
    if len(rev) != 13 or any(ch not in SORTABLE_B32 for ch in rev):
        return None
    value = 0
    for ch in rev:
        value = (value << 5) | SORTABLE_B32.index(ch)
    return value >> 10


def sortable_text(value: int) -> str:
    """The low 65 bits of ``value`` as 13 sortable base32 characters, the most significant first
    (text order is number order): the shape of a TID and of every rev."""
    pairs = _PAIRS
    return (
        SORTABLE_B32[(value >> 60) & 31]
        + pairs[(value >> 50) & 1023]
        + pairs[(value >> 40) & 1023]
        + pairs[(value >> 30) & 1023]
        + pairs[(value >> 20) & 1023]
        + pairs[(value >> 10) & 1023]
        + pairs[value & 1023]
    )


def _tid_text(micros: int) -> str:
    return sortable_text(micros << 10)  # a TID's last 10 bits are its clock id: 0 here


def _plain_state(state: Any) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _random_state(data: list[Any]) -> Any:
    version, internal, gauss = data
    return (int(version), tuple(int(x) for x in internal), gauss)
