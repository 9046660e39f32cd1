"""Seeded randomness: DIDs, TIDs, codes and fake profile data all come from here."""

from __future__ import annotations

import random
import re

from faker import Faker

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_SORTABLE_B32 = "234567abcdefghijklmnopqrstuvwxyz"


class Ids:
    """One seeded source of every random value the server hands out.

    With the same seed and the same calls, the same ids come out in the same order.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.faker = Faker("en_US")
        self.rng = random.Random()
        self._tid_last = 0
        self.reset()

    def reset(self) -> None:
        """Start the sequence again from the seed (a fresh random one when unseeded)."""
        self.rng.seed(self.seed)
        self.faker.seed_instance(self.rng.getrandbits(64))
        self._tid_last = 0

    def did(self) -> str:
        """A new ``did:plc:`` identifier: 24 base32 characters."""
        return "did:plc:" + "".join(self.rng.choice(BASE32) for _ in range(24))

    def token(self, length: int = 16) -> str:
        """A random lowercase alphanumeric string (passwords, codes, token ids)."""
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def tid(self, micros: int) -> str:
        """A timestamp identifier (13 sortable base32 chars), strictly increasing."""
        micros = max(micros, self._tid_last + 1)
        self._tid_last = micros
        clock_id = self.rng.getrandbits(10)
        value = (micros << 10) | clock_id
        chars = []
        for _ in range(13):
            chars.append(_SORTABLE_B32[value & 31])
            value >>= 5
        return "".join(reversed(chars))

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

    def avatar(self) -> str:
        """A fake avatar image URL, unique per call."""
        return f"https://i.pravatar.cc/256?u={self.faker.uuid4()}"
