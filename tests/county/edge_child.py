"""A hall's edge as a process that dies with SIGKILL, for tests/county/test_resilience.py.

    python -m tests.county.edge_child stored|acked HALL_YAML INCIDENT_ID

Stores one incident (its evidence files and its four events, through DatabaseSink with the edge's outbox, as the
bridge does), then kills itself: `stored` at once, before any uplink has run; `acked` from inside the uplink, once
the server acknowledged the messages and before they are deleted from the outbox.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from counterwatch.county.uplink import Uplink
from tests.county.conftest import Edge, raise_incident


class _DiesBeforeForgetting(Uplink):
    def _remove(self, ids: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def main(moment: str, hall_yaml: str, incident_id: str) -> None:
    edge = Edge(Path(hall_yaml))
    raise_incident(edge, incident_id)
    if moment == "acked":
        assert edge.config.uplink is not None
        _DiesBeforeForgetting(edge.config.uplink, edge.config.base_dir, edge.hall_id, edge.database,
                              edge.data_dir).start()
        time.sleep(60)  # the uplink kills the process; running out of time is a failure
        sys.exit("the uplink never got an acknowledgement")
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(*sys.argv[1:])
