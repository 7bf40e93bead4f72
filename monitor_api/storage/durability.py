"""Durability under kill -9: a writer process stores incidents and reports each id only after its commit returned;
it is killed with SIGKILL at random moments, again and again; after each kill the database is reopened and checked.

Checks after every kill: every reported id is stored, no incident or event is stored twice, closed incidents have an
end, `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing. Each writer starts the way the
service does (migrate, recover open incidents) and first re-delivers the last events it finds, as a sink retrying
after a crash would, so idempotent delivery is exercised across crashes too.

Writers are forked from a forkserver that has the storage modules imported already (a few milliseconds per writer
instead of a Python start-up), so a test can afford 100 kills. `main()` runs more of them and prints counts
(`counterwatch bench durability`).
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import signal
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import click

HALL_ID = "durability-hall"
READY_TIMEOUT_S = 30.0  # a writer that has not finished start-up by then is killed anyway (and the check runs)
_EPOCH = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _event(incident_id: str, n: int, kind: str):
    from counterwatch.incidents.events import EventKind, IncidentEvent

    """A deterministic event: the same (incident_id, n, kind) always gives the same event, so it can be re-sent."""
    started = _EPOCH + timedelta(seconds=n)
    closed = kind == "closed"
    duration = 40.0 if closed else 30.0
    return IncidentEvent(
        kind=EventKind(kind), incident_id=incident_id, incident_type="phone_use", hall_id=HALL_ID,
        window_id=f"w{n % 6:02d}", camera_id=f"cam{n % 3}", staff_id=f"s{n % 6:03d}", started_at=started,
        ended_at=started + timedelta(seconds=duration) if closed else None, start_ts=float(n), ts=n + duration,
        confidence=0.8, peak_confidence=0.9 if closed else 0.8, reason=f"phone in hand for {duration:.0f} s",
        attributes=(("writer_seq", n),))


def writer_loop(url: str, report: Connection, writer_tag: str, close_every: int) -> None:
    """The child: store incidents forever, sending each id through `report` after its commit has returned."""
    from sqlalchemy import select

    from monitor_api.storage.db import Database
    from monitor_api.storage.incidents import ingest_event, recover_open_incidents
    from monitor_api.storage.migrate import migrate
    from monitor_api.storage.models import IncidentEventRow

    # The recovery warnings of a writer that is killed on purpose hundreds of times are noise, not news.
    logging.getLogger("counterwatch.api.storage").setLevel(logging.ERROR)
    database = Database(url)
    migrate(database)
    with database.write() as session:
        recover_open_incidents(session, datetime.now(UTC))
        # Re-deliver the newest stored events, as a sink that lost its acknowledgements in the crash would.
        latest = session.scalars(select(IncidentEventRow).order_by(IncidentEventRow.id.desc()).limit(3)).all()
        for row in latest:
            payload = dict(row.payload)
            ingest_event(session, _event(payload["incident_id"], int(payload["start_ts"]), payload["kind"]))
    report.send_bytes(b"")  # ready: start-up done, the writing loop begins
    n = 0
    while True:
        n += 1
        incident_id = f"{writer_tag}-{n:06d}"
        with database.write() as session:
            ingest_event(session, _event(incident_id, n, "opened"))
        report.send_bytes(incident_id.encode())  # only now is the incident stored
        if n % close_every == 0:
            with database.write() as session:
                ingest_event(session, _event(incident_id, n, "closed"))


@dataclass
class DurabilityReport:
    kills: int = 0
    reported: int = 0
    stored: int = 0
    events: int = 0
    writers_killed_before_first_report: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check_database(path: Path, reported: set[str]) -> tuple[list[str], int, int]:
    """Open the file with the plain sqlite3 module (not our code) and return (problems, incidents, events)."""
    problems: list[str] = []
    connection = sqlite3.connect(path, timeout=10)
    try:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity[:5]}")
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
        if foreign:
            problems.append(f"foreign_key_check: {foreign[:5]}")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "incidents" not in tables:
            return (problems + [f"{len(reported)} reported, no incidents table"] if reported else problems), 0, 0
        ids = [row[0] for row in connection.execute("SELECT id FROM incidents")]
        if len(ids) != len(set(ids)):
            problems.append("an incident id is stored twice")
        missing = reported - set(ids)
        if missing:
            problems.append(f"{len(missing)} reported incident(s) missing, e.g. {sorted(missing)[:5]}")
        doubled = connection.execute("SELECT incident_id, kind, COUNT(*) FROM incident_events "
                                     "GROUP BY incident_id, kind HAVING COUNT(*) > 1").fetchall()
        if doubled:
            problems.append(f"events stored twice: {doubled[:5]}")
        unended = connection.execute("SELECT COUNT(*) FROM incidents WHERE state != 'open' AND ended_at IS NULL"
                                     ).fetchone()[0]
        if unended:
            problems.append(f"{unended} closed incident(s) without ended_at")
        events = connection.execute("SELECT COUNT(*) FROM incident_events").fetchone()[0]
        return problems, len(ids), events
    finally:
        connection.close()


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # A no-op once the forkserver runs; the first caller's preload wins, which is this one in tests and the bench.
    context.set_forkserver_preload(["monitor_api.storage.durability", "monitor_api.storage.incidents",
                                    "monitor_api.storage.migrate", "counterwatch.incidents.events"])
    return context


def run_durability(db_path: Path, iterations: int, *, seed: int = 0, max_run_s: float = 0.25,
                   close_every: int = 3, reported: set[str] | None = None) -> DurabilityReport:
    """Start a writer, SIGKILL it after a random 0..max_run_s (from its spawn or from the end of its start-up), check
    the database; `iterations` times. Stops at the first problem."""
    if iterations < 1 or max_run_s <= 0:
        raise ValueError("iterations must be >= 1 and max_run_s > 0")
    context = _context()
    rng = random.Random(seed)
    reported = set() if reported is None else reported
    report = DurabilityReport()
    started = time.monotonic()
    url = f"sqlite:///{db_path.resolve()}"
    for iteration in range(iterations):
        receiver, sender = context.Pipe(duplex=False)
        writer = context.Process(target=writer_loop, args=(url, sender, f"s{seed}i{iteration}", close_every),
                                 daemon=True)
        writer.start()
        sender.close()  # the parent's copy: without this, EOF never comes
        got = 0
        # Half of the kills are timed from the spawn, so they land in start-up (migration, recovery, re-delivery);
        # the other half from the writer's "ready", so they land in the writing loop whatever start-up costs.
        from_ready = rng.random() < 0.5
        deadline = time.monotonic() + (READY_TIMEOUT_S if from_ready else rng.uniform(0.0, max_run_s))
        while (remaining := deadline - time.monotonic()) > 0:
            if not receiver.poll(remaining):
                break
            try:
                message = receiver.recv_bytes().decode()
            except EOFError:
                break
            if message:
                reported.add(message)
                got += 1
            elif from_ready:
                deadline = time.monotonic() + rng.uniform(0.0, max_run_s)
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        # Ids sent before the kill are still in the pipe; a message cut short by the kill raises EOFError and was
        # never "reported".
        try:
            while receiver.poll(0):
                message = receiver.recv_bytes().decode()
                if message:
                    reported.add(message)
                    got += 1
        except EOFError:
            pass
        receiver.close()
        report.kills += 1
        report.writers_killed_before_first_report += got == 0
        problems, report.stored, report.events = check_database(db_path, reported)
        if writer.exitcode != -signal.SIGKILL:  # it died by itself before the kill: a crash to look at, not a pass
            problems.append(f"writer exited on its own with code {writer.exitcode}")
        report.problems.extend(f"after kill {iteration + 1}: {problem}" for problem in problems)
        if problems:
            break
    report.reported = len(reported)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="counterwatch bench durability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=500, help="kills (default 500)")
    parser.add_argument("--max-run-ms", type=float, default=300.0,
                        help="longest a writer runs before its kill, counted from its spawn or (half of the kills) "
                        "from the end of its start-up (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", type=Path, default=None, help="database file (default: a new temporary one)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="counterwatch-durability-") as scratch:
        db_path = args.db or Path(scratch) / "durability.db"
        report = run_durability(db_path, args.iterations, seed=args.seed, max_run_s=args.max_run_ms / 1000.0)
    if args.json:
        click.echo(json.dumps(asdict(report), indent=2))
    else:
        click.echo(f"kills: {report.kills}  reported stored: {report.reported}  "
                   f"incidents in database: {report.stored}  events: {report.events}  "
                   f"killed before first report: {report.writers_killed_before_first_report}  "
                   f"time: {report.seconds:.1f} s")
        click.echo("result: " + ("OK (every reported incident present, none twice, integrity ok)" if not report.problems
                                 else "FAILED\n  " + "\n  ".join(report.problems)))
    return 0 if not report.problems else 1

# No `if __name__ == "__main__"` runner on purpose: under `python -m`, every forkserver child would re-run this module
# as __main__. Call main() from the CLI (`counterwatch bench durability`) or `python -c`.
