"""The county link under failure, against the real servers: a NATS server down for a minute, the centre killed with
SIGKILL in the middle of its ingest, an edge killed between its outbox write and the publish (and between the
server's acknowledgement and the outbox delete). Every time, every incident event and every evidence file reaches
the centre exactly once."""
from __future__ import annotations

import asyncio
import hashlib
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from counterwatch.config.county import load_county
from counterwatch.county.loopback import LoopbackCounty
from monitor_api.storage import Database
from tests.county.conftest import (
    EVENTS_PER_INCIDENT,
    CentreProcess,
    CentreUnderTest,
    Edge,
    Feeder,
    assert_received_once,
    raise_incident,
    stored_events,
    wait_for,
)

pytestmark = pytest.mark.slow

CUT_S = 60.0  # how long the link is down (the requirement)
RAISE_EVERY_S = 3.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_link_cut_for_a_minute_loses_and_repeats_nothing(county: LoopbackCounty) -> None:
    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a")).start()
    server = county.servers[0]
    try:
        expected = {incident_id: raise_incident(edge, incident_id) for incident_id in ("before-0", "before-1")}
        wait_for(lambda: stored_events(centre.database) == EVENTS_PER_INCIDENT * len(expected),
                 what="the incidents raised before the cut")
        wait_for(lambda: edge.outbox_depth() == 0, what="the outbox emptied before the cut")

        server.stop()
        cut_started = time.monotonic()
        depths: list[int] = []
        while time.monotonic() - cut_started < CUT_S:
            incident_id = f"cut-{len(depths)}"
            expected[incident_id] = raise_incident(edge, incident_id)
            depths.append(edge.outbox_depth())
            time.sleep(max(0.0, min(RAISE_EVERY_S, CUT_S - (time.monotonic() - cut_started))))
        # Nothing can be acknowledged while the server is down: every event raised waits in the outbox.
        assert depths == [EVENTS_PER_INCIDENT * (n + 1) for n in range(len(depths))]
        assert len(depths) >= 10
        assert stored_events(centre.database) == EVENTS_PER_INCIDENT * 2
        wait_for(lambda: any(not link.connected and link.outbox_depth > 0 for link in edge.links), timeout=15,
                 what="the edge reporting the cut link and its outbox")

        assert time.monotonic() - cut_started >= CUT_S
        server.start()
        expected["after-0"] = raise_incident(edge, "after-0")
        wait_for(lambda: stored_events(centre.database) == EVENTS_PER_INCIDENT * len(expected), timeout=90,
                 what="every incident raised during the cut at the centre")
        wait_for(lambda: edge.outbox_depth() == 0, what="the emptied outbox")
        assert_received_once(centre.database, centre.data_dir, expected)
        assert centre.centre.rejected == 0
        # Each retry after the cut replaced the loops on the connection instead of adding to them.
        assert edge.uplink is not None
        assert _loop_tasks(edge.uplink._loop, "Uplink._send", "Uplink._receive") == [1, 1]
        assert _loop_tasks(centre.centre._loop, "Centre._consume", "Centre._push_reviews") == [1, 1]
    finally:
        edge.close()
        centre.close()


def test_the_centre_killed_mid_ingest_loses_and_repeats_nothing(county: LoopbackCounty, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    loaded = load_county(county.county_yaml)
    data_dir = loaded.resolve(loaded.config.storage.data_dir).resolve()
    database = Database(loaded.config.storage.url)
    edge = Edge(county.hall_yaml("hall-a")).start()
    centre = CentreProcess(county.county_yaml, tmp_path / "centre.log").start()
    feeder = Feeder([edge], "steady", every_s=0.15).start()
    kills = 4
    try:
        for kill in range(kills):
            # Kill once this centre stores messages, at a random moment while the edge's stream keeps coming.
            _wait_until_storing(database, centre, f"seed {seed}")
            time.sleep(rng.uniform(0.0, 1.5))
            centre.kill()
            if kill == 0:
                _leave_a_half_written_file(data_dir)
            time.sleep(rng.uniform(0.2, 1.5))
            centre.start()
        expected = feeder.stop()
        # Messages the killed centres had fetched but not acknowledged come again after the consumer's ack_wait.
        try:
            wait_for(lambda: stored_events(database) == EVENTS_PER_INCIDENT * len(expected), timeout=150,
                     what="every event at the centre")
        except AssertionError as error:
            raise AssertionError(f"{error} (seed {seed})\n{centre.log_tail()}") from None
        wait_for(lambda: edge.outbox_depth() == 0, what="the emptied outbox")
        assert centre.running, centre.log_tail()
        centre.stop()
        assert_received_once(database, data_dir, expected)
        assert len(expected) > 20
    finally:
        feeder.stop()
        centre.stop()
        edge.close()
        database.dispose()


def _leave_a_half_written_file(data_dir: Path) -> None:
    """What a centre killed while writing a fetched file leaves: its temporary beside the final name."""
    partial = data_dir / "hall-a-steady-0000" / ".snap-0.jpg.0123456789abcdef.part"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half a snapshot")


def _wait_until_storing(database: Database, centre: CentreProcess, context: str) -> None:
    before = _stored_events_or_zero(database)
    try:
        wait_for(lambda: _stored_events_or_zero(database) > before, timeout=60, every=0.05, what="the centre storing")
    except AssertionError as error:
        raise AssertionError(f"{error} ({context})\n{centre.log_tail()}") from None


def _stored_events_or_zero(database: Database) -> int:
    """Events at the centre; 0 while the first centre has not created the tables yet."""
    try:
        return stored_events(database)
    except Exception:
        return 0


@pytest.mark.parametrize("moment", ["stored", "acked"])
def test_an_edge_killed_before_its_outbox_is_emptied_delivers_once(county: LoopbackCounty, moment: str) -> None:
    """`stored`: killed right after the incident and its outbox messages were committed, before any publish.
    `acked`: killed once the server acknowledged the messages, before they were deleted from the outbox."""
    centre = CentreUnderTest(county.county_yaml).start()
    hall_yaml = county.hall_yaml("hall-b")
    try:
        wait_for(lambda: _connected(centre), what="the centre connected")
        child = subprocess.run([sys.executable, "-m", "tests.county.edge_child", moment, str(hall_yaml), "inc-killed"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert child.returncode == -9, child.stdout + child.stderr
        edge = Edge(hall_yaml)
        try:
            assert edge.outbox_depth() == EVENTS_PER_INCIDENT
            assert stored_events(edge.database) == EVENTS_PER_INCIDENT  # committed with the outbox messages
            expected = {"inc-killed": {f"inc-killed/{name}": _sha256(edge.data_dir / "inc-killed" / name)
                                       for name in ("snap-0.jpg", "snap-1.jpg", "snap-2.jpg", "clip.mp4")}}
            if moment == "acked":
                wait_for(lambda: stored_events(centre.database) == EVENTS_PER_INCIDENT,
                         what="the messages the killed edge had sent")
            edge.start()
            wait_for(lambda: edge.outbox_depth() == 0, what="the emptied outbox")
            wait_for(lambda: stored_events(centre.database) == EVENTS_PER_INCIDENT, what="the incident's events")
            time.sleep(1.0)  # a repeat, were there one, would be stored by now
            assert centre.centre.stored == EVENTS_PER_INCIDENT  # the server dropped the repeated publishes
            assert_received_once(centre.database, centre.data_dir, expected)
        finally:
            edge.close()
    finally:
        centre.close()



def _loop_tasks(loop: asyncio.AbstractEventLoop | None, *names: str) -> list[int]:
    """How many tasks of each coroutine (by qualified name) run on a link's own event loop."""
    assert loop is not None

    async def count() -> list[int]:
        running = [getattr(task.get_coro(), "__qualname__", "") for task in asyncio.all_tasks()]
        return [running.count(name) for name in names]

    return asyncio.run_coroutine_threadsafe(count(), loop).result(10)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _connected(centre: CentreUnderTest) -> bool:
    link = centre.services.live.link()
    return link is not None and link.connected
