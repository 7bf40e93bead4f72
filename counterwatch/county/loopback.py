"""A county on one machine's loopback, for `make demo-county`, `counterwatch bench county` and the tests.

`LoopbackCounty.write(root)` lays out everything a real county has, in files: the NATS server config(s) with the
centre's and each hall's user (bcrypt hashes; passwords in 0600 files), one hall config per hall with its `uplink:`
section, and county.yaml naming the halls and the PostgreSQL URL. One server, or a three-server JetStream cluster
(`cluster=True`, streams replicated three times). The servers themselves come from counterwatch.county.local_servers.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from counterwatch.county.local_servers import NatsServer, free_port
from counterwatch.county.nats_link import CENTRE_USER, edge_user, server_config
from counterwatch.private_files import private_dir


def simple_hall_yaml(hall_id: str, windows: int, *, cameras_per_window: bool = False) -> str:
    """A hall config body (no uplink, no storage) with `windows` windows on one camera per four windows; the camera
    sources are placeholders for halls whose edges are simulated (bench county, tests)."""
    lines = ["version: 1", f"hall: {{id: {hall_id}, name: {hall_id}}}", "windows:"]
    for index in range(windows):
        lines.append(f"  - {{id: w{index + 1:02d}, name: {index + 1}号窗口, department: 综合窗口, "
                     f"pause_marker_id: {index % 50}}}")
    lines.append("cameras:")
    per_camera = 1 if cameras_per_window else 4
    for start in range(0, windows, per_camera):
        lines += [f"  - id: cam{start // per_camera + 1}", "    source: /dev/null", "    views:"]
        group = range(start, min(start + per_camera, windows))
        width = 1.0 / len(group)
        for slot, index in enumerate(group):
            left, right = round(slot * width, 4), round((slot + 1) * width, 4)
            lines += [f"      - window: w{index + 1:02d}",
                      f"        staff_zone: [[{left}, 0.0], [{right}, 0.0], [{right}, 0.6], [{left}, 0.6]]",
                      f"        citizen_side: [[{left}, 0.7], [{right}, 0.7], [{right}, 1.0], [{left}, 1.0]]",
                      f"        pause_sign_region: [[{left}, 0.4], [{right}, 0.4], [{right}, 0.6], [{left}, 0.6]]"]
    return "\n".join(lines) + "\n"


@dataclass
class LoopbackCounty:
    root: Path
    halls: dict[str, str]  # hall id -> hall config body (YAML without uplink/storage)
    database_url: str
    cluster: bool = False
    servers: list[NatsServer] = field(default_factory=list)
    replicas: int = 1
    status_every_s: float = 5.0  # the edges' uplink.status_every_s (tests: every change; a real hall's default: 30)

    def write(self) -> LoopbackCounty:
        root = private_dir(self.root)
        secrets_dir = private_dir(root / "secrets")
        users = [CENTRE_USER, *(edge_user(hall) for hall in self.halls)]
        hashes = {}
        for user in users:
            path = secrets_dir / f"{user}.password"
            if not path.exists():
                path.write_text(secrets.token_urlsafe(18) + "\n")
                path.chmod(0o600)
            hashes[user] = bcrypt.hashpw(path.read_text().strip().encode(),
                                         bcrypt.gensalt(rounds=4, prefix=b"2a")).decode()
        count = 3 if self.cluster else 1
        self.replicas = count
        ports = [free_port() for _ in range(count)]
        cluster_ports = [free_port() for _ in range(count)] if self.cluster else []
        self.servers = []
        for index in range(count):
            name = f"nats-{index + 1}"
            base = private_dir(root / name)
            cluster = None
            if self.cluster:
                cluster = {"name": "counterwatch-loopback", "port": cluster_ports[index],
                           "routes": [f"nats-route://127.0.0.1:{port}" for i, port in enumerate(cluster_ports)
                                      if i != index]}
            conf = base / "nats-server.conf"
            conf.write_text(server_config(port=ports[index], store_dir=base / "jetstream", users=hashes,
                                          halls=self.halls, host="127.0.0.1", server_name=name, cluster=cluster))
            self.servers.append(NatsServer(conf, base_dir=base, port=ports[index], name=name))
        urls = ", ".join(server.url for server in self.servers)
        for hall, body in self.halls.items():
            hall_dir = private_dir(root / "halls" / hall)
            (hall_dir / "hall.yaml").write_text(
                body + "storage:\n  url: sqlite:///hall.db\n  data_dir: data\n"
                f"uplink:\n  servers: [{urls}]\n  user: {edge_user(hall)}\n"
                f"  password_file: {secrets_dir / (edge_user(hall) + '.password')}\n"
                f"  status_every_s: {self.status_every_s:g}\n")
        hall_lines = "\n".join(f"  - config: halls/{hall}/hall.yaml" for hall in self.halls)
        (root / "county.yaml").write_text(
            "version: 1\ncounty: {id: loopback, name: 县政务服务管理办公室}\n"
            f"storage:\n  url: {self.database_url}\n  data_dir: centre-data\n"
            f"nats:\n  servers: [{urls}]\n  user: {CENTRE_USER}\n"
            f"  password_file: {secrets_dir / (CENTRE_USER + '.password')}\n"
            f"jetstream:\n  replicas: {self.replicas}\n"
            f"halls:\n{hall_lines}\n")
        return self

    @property
    def county_yaml(self) -> Path:
        return self.root / "county.yaml"

    def hall_yaml(self, hall: str) -> Path:
        return self.root / "halls" / hall / "hall.yaml"

    def password_file(self, user: str) -> Path:
        return self.root / "secrets" / f"{user}.password"

    def start(self) -> LoopbackCounty:
        for server in self.servers:
            if not server.running:
                server.start()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
