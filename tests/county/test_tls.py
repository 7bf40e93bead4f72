"""The county link over TLS: a NATS server with its own certificate and client verification (certificates made here
with `cryptography`), an edge and the centre connecting with tls:// URLs, the CA and their client certificates."""
from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from counterwatch.config.uplink import NatsConnection
from counterwatch.county.local_servers import NatsServer, free_port
from counterwatch.county.loopback import simple_hall_yaml
from counterwatch.county.nats_link import (
    CENTRE_USER,
    LinkConfigError,
    connect_options,
    edge_user,
    server_config,
)
from monitor_api.storage.models import IncidentEventRow
from tests.api.storage.helpers import lifecycle
from tests.county.conftest import CentreUnderTest, Edge, wait_for


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False,
                 server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(
            "127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and one client certificate, as PEM files."""
    directory = tmp_path / "pki"
    directory.mkdir()
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "county test CA")])
    ca = _certificate("county test CA", ca_key, ca_name, ca_key, ca=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, server in (("server", True), ("client", False)):
        key = _key()
        certificate = _certificate(name, key, ca_name, ca_key, server=server)
        (directory / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        _write_key(directory / f"{name}-key.pem", key)
    return directory


def _write_county(root: Path, pki: Path, database_url: str, port: int) -> NatsServer:
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(parents=True)
    hashes_by_user = {}
    for user in (CENTRE_USER, edge_user("hall-a")):
        (secrets_dir / f"{user}.password").write_text(f"{user}-password\n")
        hashes_by_user[user] = bcrypt.hashpw(f"{user}-password".encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()
    tls = {"cert_file": str(pki / "server.pem"), "key_file": str(pki / "server-key.pem"),
           "ca_file": str(pki / "ca.pem"), "verify": True}
    conf = root / "nats-server.conf"
    conf.write_text(server_config(port=port, store_dir=root / "jetstream", users=hashes_by_user, halls=["hall-a"],
                                  host="127.0.0.1", tls=tls))
    client_tls = (f"  tls: {{ca_file: {pki / 'ca.pem'}, cert_file: {pki / 'client.pem'}, "
                  f"key_file: {pki / 'client-key.pem'}}}\n")
    hall_dir = root / "halls" / "hall-a"
    hall_dir.mkdir(parents=True)
    (hall_dir / "hall.yaml").write_text(
        simple_hall_yaml("hall-a", 2) + "storage:\n  url: sqlite:///hall.db\n  data_dir: data\n"
        f"uplink:\n  servers: [tls://127.0.0.1:{port}]\n  user: {edge_user('hall-a')}\n"
        f"  password_file: {secrets_dir / (edge_user('hall-a') + '.password')}\n" + client_tls)
    (root / "county.yaml").write_text(
        "county: {id: tls}\n"
        f"storage:\n  url: {database_url}\n  data_dir: centre-data\n"
        f"nats:\n  servers: [tls://127.0.0.1:{port}]\n  user: {CENTRE_USER}\n"
        f"  password_file: {secrets_dir / (CENTRE_USER + '.password')}\n" + client_tls
        + "halls:\n  - config: halls/hall-a/hall.yaml\n")
    return NatsServer(conf, base_dir=root, port=port, name="nats-tls")


def test_edge_and_centre_over_mutual_tls(tmp_path: Path, pki: Path, county_database: str) -> None:
    server = _write_county(tmp_path / "county", pki, county_database, free_port()).start()
    centre = CentreUnderTest(tmp_path / "county" / "county.yaml").start()
    edge = Edge(tmp_path / "county" / "halls" / "hall-a" / "hall.yaml").start()
    try:
        for event in lifecycle("tls-1", hall="hall-a"):
            edge.deliver(event)

        def arrived() -> bool:
            with centre.database.read() as session:
                return session.scalar(select(func.count()).select_from(IncidentEventRow)) == 4
        wait_for(arrived, what="the events over TLS")
        log = server.log_file.read_text(errors="replace")
        assert "TLS required for client connections" in log
    finally:
        edge.close()
        centre.close()
        server.stop()


def test_tls_files_that_cannot_be_loaded_are_named(tmp_path: Path) -> None:
    connection = NatsConnection.model_validate({"servers": ["tls://127.0.0.1:4222"],
                                                "tls": {"ca_file": "missing-ca.pem"}})
    with pytest.raises(LinkConfigError, match="TLS files"):
        connect_options(connection, tmp_path, name="x", inbox_prefix="_INBOX_x")
