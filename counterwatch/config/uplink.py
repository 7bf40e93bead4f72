"""How a node reaches the county's NATS JetStream servers: the edge's `uplink:` section and the centre's `nats:`.

Both name the servers (nats:// or tls://), the node's own credentials (a user and a file holding its password, kept
out of the config) and TLS options. An edge also bounds its outbox. See docs/county.md.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from counterwatch.config.base import Strict

ServerUrl = Annotated[str, Field(pattern=r"^(nats|tls)://[^\s/]+$",
                                 description="A NATS server, nats://host:port or tls://host:port.")]


class TlsOptions(Strict):
    ca_file: str = Field(description="CA certificate(s) that signed the servers' certificates (PEM), relative to "
                         "the config file.")
    cert_file: str | None = Field(default=None, description="This node's client certificate (PEM), when the "
                                  "servers verify clients.")
    key_file: str | None = Field(default=None, description="The private key of cert_file (PEM).")

    @model_validator(mode="after")
    def _pair(self) -> TlsOptions:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both or neither")
        return self


class NatsConnection(Strict):
    servers: tuple[ServerUrl, ...] = Field(min_length=1, description="The JetStream servers (every member of a "
                                           "cluster, so the client fails over).")
    user: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                             description="This node's NATS user (`counterwatch nats-config` writes one per "
                             "hall: edge-<hall id>, and `centre` for the centre).")
    password_file: str | None = Field(default=None, description="File holding the user's password (one line, mode "
                                      "0600), relative to the config file.")
    tls: TlsOptions | None = Field(default=None, description="TLS to the servers (use tls:// URLs).")
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Timeout of one connection attempt.")
    ack_timeout_s: float = Field(default=10.0, gt=0, le=300, description="How long a publish waits for the "
                                 "server's acknowledgement before it is tried again.")

    @model_validator(mode="after")
    def _credentials(self) -> NatsConnection:
        if (self.user is None) != (self.password_file is None):
            raise ValueError("user and password_file go together: give both or neither")
        if self.tls is not None and not all(url.startswith("tls://") for url in self.servers):
            raise ValueError("with tls: every server URL must start with tls://")
        return self


class UplinkConfig(NatsConnection):
    """An edge (one hall) sending to the county centre; everything stays local too."""

    outbox_max_messages: int = Field(default=200_000, ge=100, le=100_000_000, description="Most messages the "
                                     "outbox keeps while the link is down; beyond it the oldest camera statistics, "
                                     "then window statuses, then camera health and labelling samples go first. "
                                     "Incidents, evidence, pauses and command acknowledgements are never dropped.")
    batch: int = Field(default=64, ge=1, le=10_000, description="Messages published before waiting for their "
                       "acknowledgements.")
    status_every_s: float = Field(default=30.0, ge=1, le=3600, description="A window status is sent when it "
                                  "changes and at least this often while it does not.")

    stats_every_s: float = Field(default=10.0, ge=1, le=3600, description="Camera statistics (frames analysed, "
                                 "model timings) are summed over this long and sent as one message per camera.")

    @field_validator("servers")
    @classmethod
    def _unique(cls, servers: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(servers)) != len(servers):
            raise ValueError("servers must not repeat")
        return servers
