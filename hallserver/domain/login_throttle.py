"""Managers' login throttling (登录限速): per client address and per account, growing delays
instead of a lock that anyone can renew. Plain Python, the clock given in each call; the web
keeps one in memory (a restart forgets it). The guarantees, with our defaults (docs/security.md):

- **Per address** (every account tried from it, together): the first `free_failures` (5)
  failures cost nothing; after them, each further attempt must wait `base_delay_s` (1 s)
  doubled per failure since, at most `address_cap_s` (15 min), after the address's last
  failure. An attempt before its time is refused (429, Retry-After) and no password is
  checked. One attempt of an address at a time; an address is forgotten `address_forget_s`
  (1 h) after its last failure.
- **Per account** (every address trying it, together, known accounts and unknown names alike):
  after `free_failures` failures, each attempt is *held* (the answer waits) until the account's
  last failure + `base_delay_s` doubled per failure since, at most `account_cap_s` (30 s). The
  hold is fixed when the attempt arrives, and the account's last failure is never later than
  that, so nobody else's failures can make it longer: an attempt from an address that is not
  itself throttled has its password checked at most `account_cap_s` after it arrived, however
  many addresses hammer the account. An account's failures are forgotten `account_forget_s`
  (15 min) after its last one, and on a successful login.
- **The alert**: a known account with `alert_failures` (10) failures in a row, each within
  `account_forget_s` of the one before, is an attack to show the other managers, with the
  addresses tried from; it lasts until `account_forget_s` after the last failure (a success
  does not end it).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

MAX_ADDRESSES_SHOWN = 20      # an attack remembers this many of its addresses (and counts the rest)


@dataclass
class Admission:
    """What to do with one login attempt: refused for `retry_after_s` seconds (nothing checked),
    or checked after holding it `hold_s` seconds."""
    refused: bool
    retry_after_s: float = 0.0
    hold_s: float = 0.0


@dataclass
class _Failures:
    count: int = 0
    last: datetime | None = None


@dataclass
class Attack:
    """An account under attack (登录异常): failures in a row and where they came from."""
    account: str
    since: datetime
    last: datetime
    failures: int = 0
    addresses: dict[str, int] = field(default_factory=dict)    # address → its failures (the first few)
    other_failures: int = 0                                     # failures from addresses beyond those


@dataclass
class LoginThrottle:
    free_failures: int = 5
    base_delay_s: float = 1.0
    address_cap_s: float = 900.0
    account_cap_s: float = 30.0
    address_forget_s: float = 3600.0
    account_forget_s: float = 900.0
    alert_failures: int = 10
    max_entries: int = 10000       # per dimension: an attacker making up names or addresses cannot grow it
    _addresses: dict[str, _Failures] = field(default_factory=dict)
    _accounts: dict[str, _Failures] = field(default_factory=dict)
    _attacks: dict[str, Attack] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)   # the loop and the board's threads

    def delay_s(self, failures: int, cap_s: float) -> float:
        """The wait after `failures` failures: none for the free ones, then doubling up to the cap."""
        if failures < self.free_failures:
            return 0.0
        return min(cap_s, self.base_delay_s * 2.0 ** min(failures - self.free_failures, 60))

    def admit(self, account: str, address: str, now: datetime) -> Admission:
        """Whether an attempt on `account` from `address` may be checked now, and after what hold.
        Admitted attempts must be ended with `failed`, `succeeded` or `release`."""
        with self._lock:
            return self._admit(account, address, now)

    def _admit(self, account: str, address: str, now: datetime) -> Admission:
        mine = self._remembered(self._addresses, address, now, self.address_forget_s)
        if address in self._in_flight:
            return Admission(refused=True, retry_after_s=1.0)
        if mine is not None and mine.last is not None:
            free_at = mine.last + timedelta(seconds=self.delay_s(mine.count, self.address_cap_s))
            if now < free_at:
                return Admission(refused=True, retry_after_s=(free_at - now).total_seconds())
        self._in_flight.add(address)
        target = self._remembered(self._accounts, account, now, self.account_forget_s)
        if target is None or target.last is None:
            return Admission(refused=False)
        free_at = target.last + timedelta(seconds=self.delay_s(target.count, self.account_cap_s))
        hold_s = min(self.account_cap_s, (free_at - now).total_seconds())   # the cap even if the clock stepped back
        return Admission(refused=False, hold_s=max(0.0, hold_s))

    def release(self, address: str) -> None:
        """The admitted attempt from `address` is over (whatever its outcome)."""
        with self._lock:
            self._in_flight.discard(address)

    def failed(self, account: str, address: str, now: datetime, *, known: bool) -> bool:
        """A wrong password (or an unknown account) from `address`. True when the account's
        alert opened or named a new address with it (the board should redraw)."""
        with self._lock:
            self._in_flight.discard(address)
            self._count(self._addresses, address, now, self.address_forget_s)
            self._count(self._accounts, account, now, self.account_forget_s)
            return self._attacked(account, address, now) if known else False

    def succeeded(self, account: str, address: str) -> None:
        """The right password: the account's failures are forgotten (the address's are not: they
        fade with time, so that one good account does not open an address for guessing others)."""
        with self._lock:
            self._in_flight.discard(address)
            self._accounts.pop(account, None)

    def attacks(self, now: datetime) -> list[Attack]:
        """The accounts under attack now (for the alert), oldest first."""
        window = timedelta(seconds=self.account_forget_s)
        with self._lock:
            for account in [a for a, x in self._attacks.items() if now - x.last >= window]:
                del self._attacks[account]
            return sorted((replace(x, addresses=dict(x.addresses)) for x in self._attacks.values()
                           if x.failures >= self.alert_failures), key=lambda x: x.since)

    # ------------------------------------------------------------------ inside
    @staticmethod
    def _remembered(book: dict[str, _Failures], key: str, now: datetime, forget_s: float) -> _Failures | None:
        found = book.get(key)
        if found is not None and found.last is not None and (now - found.last).total_seconds() >= forget_s:
            del book[key]
            return None
        return found

    def _count(self, book: dict[str, _Failures], key: str, now: datetime, forget_s: float) -> None:
        found = self._remembered(book, key, now, forget_s)
        if found is None:
            if len(book) >= self.max_entries:
                self._prune(book, now, forget_s)
            found = book[key] = _Failures()
        found.count += 1
        found.last = now

    def _prune(self, book: dict[str, _Failures], now: datetime, forget_s: float) -> None:
        """Forget what has faded; if that is not enough, the older half."""
        for key in [k for k, x in book.items() if x.last is None or (now - x.last).total_seconds() >= forget_s]:
            del book[key]
        if len(book) >= self.max_entries:
            for key, _ in sorted(book.items(), key=lambda kv: kv[1].last)[: len(book) // 2]:
                del book[key]

    def _attacked(self, account: str, address: str, now: datetime) -> bool:
        attack = self._attacks.get(account)
        if attack is None or (now - attack.last).total_seconds() >= self.account_forget_s:
            attack = self._attacks[account] = Attack(account, now, now)
        attack.failures += 1
        attack.last = now
        new_address = False
        if address in attack.addresses:
            attack.addresses[address] += 1
        elif len(attack.addresses) < MAX_ADDRESSES_SHOWN:
            attack.addresses[address] = 1
            new_address = True
        else:
            attack.other_failures += 1
        opened = attack.failures == self.alert_failures
        return opened or (new_address and attack.failures > self.alert_failures)
