"""The managers' login throttle on its own (pure, the clock given): growing waits per address,
a bounded hold per account that nobody else can lengthen, the alert of an attacked account."""
from datetime import UTC, datetime, timedelta

from hallserver.domain.login_throttle import LoginThrottle

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def fail(throttle: LoginThrottle, account: str, address: str, at: datetime, known: bool = True) -> bool:
    admission = throttle.admit(account, address, at)
    assert not admission.refused
    return throttle.failed(account, address, at, known=known)


def test_an_address_waits_longer_after_each_failure_up_to_the_cap():
    throttle = LoginThrottle(free_failures=3, base_delay_s=1, address_cap_s=8, account_cap_s=2)
    at = T0
    for _ in range(3):
        fail(throttle, "m001", "10.0.0.66", at)
    waits = []
    for _ in range(6):
        refused = throttle.admit("m002", "10.0.0.66", at)               # another account: the address counts
        assert refused.refused
        waits.append(refused.retry_after_s)
        at += timedelta(seconds=refused.retry_after_s)
        fail(throttle, "m002", "10.0.0.66", at)
    assert waits == [1, 2, 4, 8, 8, 8]
    assert not throttle.admit("m001", "10.0.0.7", at).refused            # another address is not refused


def test_the_account_hold_is_bounded_however_many_addresses_hammer_it():
    throttle = LoginThrottle(free_failures=3, base_delay_s=1, address_cap_s=900, account_cap_s=5)
    at = T0
    for i in range(200):                                                 # a botnet: a fresh address each time
        admission = throttle.admit("m001", f"10.1.{i // 250}.{i % 250}", at)
        assert not admission.refused and admission.hold_s <= 5
        at += timedelta(seconds=admission.hold_s)
        throttle.failed("m001", f"10.1.{i // 250}.{i % 250}", at, known=True)
    manager = throttle.admit("m001", "10.0.0.7", at)
    assert not manager.refused and 0 < manager.hold_s <= 5
    throttle.succeeded("m001", "10.0.0.7")
    assert throttle.admit("m001", "10.0.0.8", at).hold_s == 0           # a success forgets the account's failures


def test_one_attempt_of_an_address_at_a_time_and_failures_fade():
    throttle = LoginThrottle(free_failures=2, address_forget_s=60, account_forget_s=30)
    assert not throttle.admit("m001", "10.0.0.66", T0).refused
    assert throttle.admit("m001", "10.0.0.66", T0).refused              # the first is still being checked
    throttle.failed("m001", "10.0.0.66", T0, known=True)
    fail(throttle, "m001", "10.0.0.66", T0)
    assert throttle.admit("m001", "10.0.0.66", T0).refused
    later = T0 + timedelta(seconds=61)
    assert throttle.admit("m001", "10.0.0.66", later).hold_s == 0       # forgotten, both dimensions


def test_an_attack_on_a_known_account_is_an_alert_with_its_addresses():
    throttle = LoginThrottle(free_failures=100, alert_failures=4, account_forget_s=60)
    opened = [fail(throttle, "m001", f"10.0.0.{i % 2 + 1}", T0 + timedelta(seconds=i)) for i in range(5)]
    assert opened == [False, False, False, True, False]
    assert fail(throttle, "m001", "10.0.0.9", T0 + timedelta(seconds=6))       # a new address: redraw
    for i in range(6):
        fail(throttle, "ghost", "10.0.0.3", T0 + timedelta(seconds=i), known=False)
    (attack,) = throttle.attacks(T0 + timedelta(seconds=7))
    assert attack.account == "m001" and attack.failures == 6
    assert attack.addresses == {"10.0.0.1": 3, "10.0.0.2": 2, "10.0.0.9": 1}
    throttle.succeeded("m001", "10.0.0.7")
    assert throttle.attacks(T0 + timedelta(seconds=7))                          # a success does not end it
    assert throttle.attacks(T0 + timedelta(seconds=67)) == []                   # quiet for a minute: over


def test_made_up_names_and_addresses_do_not_grow_it_without_bound():
    throttle = LoginThrottle(max_entries=100)
    for i in range(1000):
        fail(throttle, f"name{i}", f"10.2.{i // 250}.{i % 250}", T0)
    assert len(throttle._accounts) <= 100 and len(throttle._addresses) <= 100
