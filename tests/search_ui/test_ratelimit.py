"""The per-client token bucket."""

from __future__ import annotations

import pytest

from search_ui.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("spec", "limit", "period"), [
    ("120/minute", 120, 60.0), ("10/second", 10, 1.0), ("1000/hour", 1000, 3600.0),
    ("5 / 10 s", 5, 10.0)])
def test_specs(spec: str, limit: int, period: float) -> None:
    limiter = RateLimiter.parse(spec)
    assert limiter is not None and (limiter.limit, limiter.period) == (limit, period)


@pytest.mark.parametrize("spec", ["off", "0", "", None, "none"])
def test_off(spec: str | None) -> None:
    assert RateLimiter.parse(spec) is None


@pytest.mark.parametrize("spec", ["lots", "10/fortnight", "ten/minute"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="AGORA_RATE_LIMIT"):
        RateLimiter.parse(spec)


def test_bucket_refuses_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    assert [limiter.take("a").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.take("a")
    assert refused.retry_after == pytest.approx(20.0) and limiter.retry_header(refused) == "20"
    assert limiter.take("b").allowed  # another client has its own bucket
    clock.now += 20.0
    assert limiter.take("a").allowed and not limiter.take("a").allowed


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 1.0, max_clients=100, clock=clock)
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.001
    assert len(limiter._buckets) <= 101
