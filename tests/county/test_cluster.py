"""The county link on a three-server JetStream cluster (streams and buckets replicated three times): a server killed
with SIGKILL while two edges keep sending, and started again, loses and repeats nothing."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from counterwatch.config.county import load_county
from counterwatch.county import wire
from counterwatch.county.local_servers import NatsServer
from counterwatch.county.loopback import LoopbackCounty
from counterwatch.county.nats_link import connect_options, open_connection
from tests.county.conftest import (
    EVENTS_PER_INCIDENT,
    HALLS,
    CentreUnderTest,
    Edge,
    Feeder,
    assert_received_once,
    make_county,
    stored_events,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path, county_database: str) -> Iterator[LoopbackCounty]:
    loopback = make_county(tmp_path / "county", county_database, cluster=True).start()
    try:
        yield loopback
    finally:
        loopback.stop()


def test_a_cluster_member_killed_mid_run_loses_and_repeats_nothing(cluster: LoopbackCounty) -> None:
    assert [server.running for server in cluster.servers] == [True] * 3
    centre = CentreUnderTest(cluster.county_yaml).start()
    edges = [Edge(cluster.hall_yaml(hall)).start() for hall in HALLS]
    feeder = Feeder(edges, "cluster", every_s=0.25).start()
    try:
        # The centre creates the replicated layout once the cluster has elected its meta leader (it retries until
        # then); the edges' outboxes hold everything meanwhile.
        wait_for(lambda: stored_events(centre.database) >= 20, timeout=90, what="the first incidents at the centre")
        victim = _stream_leader(cluster)
        victim.kill()
        stored = stored_events(centre.database)
        wait_for(lambda: stored_events(centre.database) >= stored + 20, timeout=60,
                 what=f"the centre storing with {victim.name} down")
        time.sleep(3.0)
        victim.start()
        stored = stored_events(centre.database)
        wait_for(lambda: stored_events(centre.database) >= stored + 20, timeout=60,
                 what=f"the centre storing with {victim.name} back")
        expected = feeder.stop()
        wait_for(lambda: all(edge.outbox_depth() == 0 for edge in edges), timeout=60, what="empty outboxes")
        # Acknowledgements the killed server took with it: those messages come again after the consumer's ack_wait.
        wait_for(lambda: stored_events(centre.database) == EVENTS_PER_INCIDENT * len(expected), timeout=120,
                 what="every event at the centre")
        assert_received_once(centre.database, centre.data_dir, expected)
        assert {incident_id.split("-cluster-")[0] for incident_id in expected} == set(HALLS)
        assert centre.centre.rejected == 0
    finally:
        feeder.stop()
        for edge in edges:
            edge.close()
        centre.close()


def _stream_leader(county: LoopbackCounty) -> NatsServer:
    """The server leading CW_UP (killing it makes the cluster elect another leader mid-run)."""
    loaded = load_county(county.county_yaml)
    options = connect_options(loaded.config.nats, loaded.base_dir, name="test-probe", inbox_prefix="_INBOX_centre")

    async def leader() -> str:
        client = await open_connection(options)
        try:
            info = await client.jetstream(timeout=5).stream_info(wire.UP_STREAM)
            assert info.config.num_replicas == 3
            assert info.cluster is not None and info.cluster.leader is not None
            assert len(info.cluster.replicas or []) == 2  # the leader and two followers
            return info.cluster.leader
        finally:
            await client.close()

    name = asyncio.run(leader())
    return next(server for server in county.servers if server.name == name)
