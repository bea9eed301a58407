"""Which hosts a crawler may reach: the platform's origin (scheme, host, port), plus
``allowed_hosts``; credentials only ever go to the origin."""

from __future__ import annotations

import pytest

from crawlers.hosts import PlatformHosts, host_label, origin, parse_allowed_host


def test_an_origin_is_scheme_host_and_port() -> None:
    assert origin("HTTP://Shop.Test/a") == ("http", "shop.test", 80)
    assert origin("https://shop.test:8443/") == ("https", "shop.test", 8443)
    assert origin("http://user:pw@shop.test./x") == ("http", "shop.test", 80)
    assert origin("ftp://shop.test/") is None and origin("/relative") is None
    assert origin("http://shop.test:99999/") is None


@pytest.mark.parametrize("url", [
    "http://shop.test:8080/x",        # another port of the same host
    "https://shop.test/x",            # another scheme
    "http://evil.test/x",             # another host
    "http://sub.shop.test/x",         # a subdomain
    "http://localhost/x",             # the same machine, by another name
    "http://169.254.169.254/latest",  # a link-local metadata address
    "http://127.0.0.2/x",             # another loopback address
    "javascript:alert(1)",
])
def test_anything_but_the_platforms_origin_is_elsewhere(url: str) -> None:
    hosts = PlatformHosts("http://shop.test")
    assert not hosts.allows(url) and not hosts.is_home(url)


def test_allowed_hosts_are_followed_but_never_home() -> None:
    hosts = PlatformHosts("http://shop.test/", ("cdn.test", "127.0.0.2:8080"))
    assert hosts.allows("https://cdn.test/a.html") and hosts.allows("http://cdn.test/a")
    assert not hosts.allows("http://cdn.test:8080/a")  # no port named: the default ports
    assert hosts.allows("http://127.0.0.2:8080/x") and not hosts.allows("http://127.0.0.2/x")
    assert not hosts.is_home("https://cdn.test/a.html") and hosts.is_home("http://shop.test:80/")


def test_allowed_host_entries_and_labels() -> None:
    assert parse_allowed_host("CDN.test:8080") == ("cdn.test", 8080)
    assert parse_allowed_host("[::1]:81") == ("::1", 81)
    for bad in ("http://cdn.test", "cdn.test/x", "cdn.test:0", "", "a b"):
        with pytest.raises(ValueError):
            parse_allowed_host(bad)
    assert host_label("http://Evil.test/a") == "evil.test:80"
