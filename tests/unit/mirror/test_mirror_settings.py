"""``[mirrors.NAME]``: every key, its default, and one line for each mistake."""

from __future__ import annotations

from typing import Any

import pytest

from hookyard.config import Settings, settings_from_mapping
from hookyard.exceptions import ConfigError

BASE: dict[str, Any] = {
    "sources": {"stripe": {"scheme": "none"}, "github": {"scheme": "none"}},
    "destinations": {"app": {"url": "https://app.example/hooks"}},
}


def settings(**mirror: object) -> Settings:
    table = {"sources": ["stripe"], "url": "https://staging.example/{source}", **mirror}
    return settings_from_mapping({**BASE, "mirrors": {"staging": table}}, "cfg.toml")


def test_defaults() -> None:
    mirror = settings().mirrors["staging"]
    assert mirror.sources == ("stripe",)
    assert mirror.url_for("stripe") == "https://staging.example/stripe"
    assert (mirror.sample_rate, mirror.rate, mirror.signatures, mirror.payload) == (
        1.0,
        None,
        "strip",
        "full",
    )
    assert (mirror.timeout_seconds, mirror.max_lag_seconds, mirror.dry_run) == (5.0, 60.0, False)
    assert mirror.events is None and mirror.compare_with is None and not mirror.mask
    assert mirror.max_cpu_pressure == 0.1


def test_every_key() -> None:
    mirror = settings(
        sources=["stripe", "github"],
        events=["invoice.*"],
        sample_rate=0.25,
        sample_by="data.object.customer",
        rate=50,
        burst=10,
        timeout_seconds="2s",
        signatures="resign",
        signing={"scheme": "stripe", "secret": "whsec_staging"},
        mask=["email", "data.object.card.last4"],
        payload="envelope",
        compare_with="app",
        ignore=["Date", "data.created"],
        max_lag="5m",
        dry_run=True,
        max_cpu_pressure=0.5,
    ).mirrors["staging"]
    assert mirror.events == ("invoice.*",)
    assert mirror.sample_by is not None
    assert mirror.sample_by.path == ("data", "object", "customer")
    assert (mirror.rate, mirror.burst, mirror.timeout_seconds) == (50.0, 10, 2.0)
    assert mirror.signing.scheme_name == "stripe" and mirror.signing.secret == "whsec_staging"
    assert mirror.mask.keys == {"email"}
    assert mirror.mask.pointers == ("/data/object/card/last4",)
    assert (mirror.compare_with, mirror.ignore) == ("app", ("Date", "data.created"))
    assert (mirror.max_lag_seconds, mirror.dry_run, mirror.payload) == (300.0, True, "envelope")
    assert mirror.max_cpu_pressure == 0.5


def test_burst_defaults_to_one_second_of_rate() -> None:
    assert settings(rate=20).mirrors["staging"].burst == 20
    assert settings(rate=0.5).mirrors["staging"].burst == 1


@pytest.mark.parametrize(
    ("mirror", "message"),
    [
        ({"sources": None}, "mirrors.staging.sources: required"),
        ({"sources": ["nope"]}, "mirrors.staging.sources: unknown source 'nope'"),
        ({"url": None}, "mirrors.staging.url: required"),
        ({"url": "ftp://x.example/"}, "mirrors.staging.url: must start with http://"),
        ({"url": "https://x.example/{name}"}, "the only placeholder a mirror URL takes"),
        ({"sample_rate": 1.5}, "mirrors.staging.sample_rate: must be between 0 and 1"),
        ({"sample_rate": "half"}, "mirrors.staging.sample_rate: must be a number"),
        ({"max_cpu_pressure": -0.1}, "mirrors.staging.max_cpu_pressure: must be between 0 and 1"),
        ({"sample_by": "data..id"}, "mirrors.staging.sample_by: 'data..id' has an empty path"),
        ({"rate": 0}, "mirrors.staging.rate: must be a number of events per second above 0"),
        ({"burst": 5}, "mirrors.staging.burst: only used with rate"),
        ({"rate": 5, "burst": 0}, "mirrors.staging.burst: must be an integer of at least 1"),
        ({"signatures": "keep"}, 'mirrors.staging.signatures: must be "strip" or "resign"'),
        ({"signatures": "resign"}, 'mirrors.staging.signing: signatures = "resign" needs'),
        (
            {"signatures": "resign", "signing": "passthrough"},
            'mirrors.staging.signing: signatures = "resign" needs',
        ),
        (
            {"signatures": "resign", "signing": {"scheme": "none"}},
            "mirrors.staging.signing.scheme: resign needs a scheme, not 'none'",
        ),
        ({"signing": {"scheme": "stripe", "secret": "x"}}, 'only used with signatures = "resign"'),
        ({"payload": "data"}, 'mirrors.staging.payload: must be "full" or "envelope"'),
        ({"mask": ["a..b"]}, "mirrors.staging.mask: 'a..b' has an empty path segment"),
        ({"compare_with": "prod"}, "mirrors.staging.compare_with: must name a production"),
        ({"max_lag": "soon"}, "mirrors.staging.max_lag: expected a duration"),
        ({"dry_run": "yes"}, "mirrors.staging.dry_run: must be true or false"),
        ({"bogus": 1}, "mirrors.staging.bogus: unknown key"),
    ],
)
def test_mistakes_name_the_key(mirror: dict[str, object], message: str) -> None:
    table = {"sources": ["stripe"], "url": "https://staging.example/", **mirror}
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**BASE, "mirrors": {"staging": table}}, "cfg.toml")
    assert str(caught.value).startswith("cfg.toml: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example/hooks",
        "HTTPS://APP.example:443/hooks",
        "https://app.example/{source}",  # {source} = "hooks" is not mirrored, see below
    ],
)
def test_a_mirror_never_points_at_production(url: str) -> None:
    sources = {"hooks": {"scheme": "none"}, **BASE["sources"]}
    data = {**BASE, "sources": sources}
    table = {"sources": ["hooks"], "url": url}
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**data, "mirrors": {"staging": table}}, "cfg.toml")
    assert str(caught.value) == (
        "cfg.toml: mirrors.staging.url: is the URL of production destination 'app' "
        "(destinations.app.url); a mirror must point elsewhere"
    )


def test_a_different_path_on_the_production_host_is_allowed() -> None:
    mirror = settings(url="https://app.example/staging-hooks").mirrors["staging"]
    assert mirror.url == "https://app.example/staging-hooks"


def test_mirrors_table_must_hold_tables() -> None:
    with pytest.raises(ConfigError, match=r"mirrors\.staging: must be a table"):
        settings_from_mapping({**BASE, "mirrors": {"staging": 3}}, "cfg.toml")


def test_no_mirrors_by_default() -> None:
    assert settings_from_mapping(BASE, "cfg.toml").mirrors == {}
