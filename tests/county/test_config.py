"""The `uplink:` section of a hall config and county.yaml: valid ones load, mistakes are named with their field."""
from __future__ import annotations

from pathlib import Path

import pytest

from counterwatch.config import ConfigError, parse_config
from counterwatch.config.county import load_county
from counterwatch.county.loopback import simple_hall_yaml


def _hall(uplink: str, hall_id: str = "hall-a") -> str:
    return simple_hall_yaml(hall_id, 2) + uplink


def test_an_uplink_section_loads() -> None:
    config = parse_config(_hall("uplink:\n  servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]\n"
                                "  user: edge-hall-a\n  password_file: secrets/edge.password\n"))
    assert config.uplink is not None
    assert config.uplink.servers == ("nats://10.0.0.1:4222", "nats://10.0.0.2:4222")
    assert config.uplink.outbox_max_messages == 200_000


@pytest.mark.parametrize(("uplink", "field", "message"), [
    ("uplink:\n  servers: [http://x:4222]\n", "uplink.servers[0]", "should match pattern"),
    ("uplink:\n  servers: [nats://x:4222]\n  user: edge\n", "uplink", "user and password_file go together"),
    ("uplink:\n  servers: [nats://x:4222]\n  tls: {ca_file: ca.pem}\n", "uplink", "tls://"),
    ("uplink:\n  servers: [tls://x:4222]\n  tls: {ca_file: ca.pem, cert_file: c.pem}\n", "uplink.tls",
     "cert_file and key_file go together"),
    ("uplink:\n  servers: [nats://x:4222]\n  outbox_max_messages: 5\n", "uplink.outbox_max_messages",
     "greater than or equal to 100"),
])
def test_uplink_mistakes_name_the_field(uplink: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(_hall(uplink))
    assert any(issue.path == field and message in issue.message for issue in raised.value.issues), \
        raised.value.issues


def test_a_hall_id_with_a_dot_cannot_use_the_uplink() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(_hall("uplink:\n  servers: [nats://x:4222]\n", hall_id="hall.a"))
    assert [issue.path for issue in raised.value.issues] == ["hall.id"]


def _write_county(tmp_path: Path, body: str, halls: dict[str, str]) -> Path:
    for name, text in halls.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "county.yaml"
    path.write_text(body)
    return path


def test_a_county_loads_with_its_halls(tmp_path: Path) -> None:
    path = _write_county(tmp_path, "county: {id: chongyi, name: 崇义县}\nstorage: {url: 'postgresql://c@db/county'}\n"
                         "nats: {servers: ['nats://n1:4222']}\njetstream: {replicas: 3}\n"
                         "halls:\n  - config: a.yaml\n  - config: b.yaml\n",
                         {"a.yaml": simple_hall_yaml("hall-a", 2), "b.yaml": simple_hall_yaml("hall-b", 3)})
    county = load_county(path)
    assert county.hall_ids == ("hall-a", "hall-b")
    assert county.config.jetstream.replicas == 3
    assert county.resolve("var/county") == tmp_path / "var/county"


def test_county_mistakes_are_named(tmp_path: Path) -> None:
    path = _write_county(tmp_path, "county: {id: c}\nstorage: {url: 'sqlite:///x.db'}\nnats: {servers: ['nats://n:1']}\n"
                         "jetstream: {replicas: 2}\nhalls:\n  - config: a.yaml\n  - config: a2.yaml\n"
                         "  - config: missing.yaml\n",
                         {"a.yaml": simple_hall_yaml("hall-a", 2), "a2.yaml": simple_hall_yaml("hall-a", 2)})
    with pytest.raises(ConfigError) as raised:
        load_county(path)
    paths = {issue.path for issue in raised.value.issues}
    assert paths == {"storage.url", "jetstream.replicas"}
    path.write_text("county: {id: c}\nstorage: {url: 'postgresql://c@db/c'}\nnats: {servers: ['nats://n:1']}\n"
                    "halls:\n  - config: a.yaml\n  - config: a2.yaml\n  - config: missing.yaml\n")
    with pytest.raises(ConfigError) as raised:
        load_county(path)
    messages = {issue.path: issue.message for issue in raised.value.issues}
    assert "file not found" in messages["halls[2].config"]
    assert "appears twice" in messages["halls[1].config"]
