"""The figures of `counterwatch bench county` from what one run measured (county.py), and the table it prints."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from counterwatch.cli.bench.county_probes import MACHINE, OTHERS
from counterwatch.cli.bench.county_sim import Raised, TrafficProfile

TARGET_HALLS, TARGET_WINDOWS, TARGET_P99_MS = 50, 10, 2000.0  # issue 14: one 2-core machine, p99 under 2 s
MB = 1e6
KINDS = ("incident", "status", "stats", "health")


@dataclass
class SizeRun:
    """What one size measured (raw)."""

    halls: int
    windows: int  # per hall
    cameras: int
    seconds: float
    window_wall: tuple[float, float]  # the measurement window, seconds since the epoch
    stored_before: dict[str, float]
    stored_after: dict[str, float]
    cpu_before: dict[str, float]
    cpu_after: dict[str, float]
    rss_samples: list[int]
    raised: list[Raised]
    stored_events: dict[tuple[str, str], float]  # (incident, kind) -> stored at the centre (seconds since the epoch)
    incident_latency: dict[tuple[str, str], tuple[float, float]]  # (incident, kind) -> (sent at, latency s)
    status_latency: list[tuple[float, float]]  # (status wall time, latency s)
    evidence: dict[str, int]
    edge_puts: int
    edge_files: int
    edge_bytes: int
    drain_s: float
    ready_s: float
    feed_connects: int
    feed_messages: int
    sim_late_s: float
    edge_processes: int
    outbox_depth_max: int  # the largest outbox depth of one edge, sampled every second in the window
    outbox_age_max_s: float  # the oldest message waiting in an edge's outbox, likewise
    backlog_max: int  # messages of CW_UP the centre's consumer had not acknowledged, largest in the window
    backlog_end: int  # ... at the end of the window
    published: dict[tuple[str, str], float]  # (incident, kind) -> when the NATS server had it (seconds since the epoch)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between the closest ranks; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _latency(values_s: list[float]) -> dict[str, Any]:
    ms = [value * 1000.0 for value in values_s]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {"n": len(ms), "p50_ms": rounded(percentile(ms, 50)), "p99_ms": rounded(percentile(ms, 99)),
            "max_ms": rounded(max(ms) if ms else None)}


def _cpu_shares(run: SizeRun) -> dict[str, float]:
    """% of one core per role over the window; what the machine used beyond this run's processes: the others'."""
    used = {role: 100.0 * (run.cpu_after[role] - run.cpu_before[role]) / run.seconds for role in run.cpu_after}
    machine = used.pop(MACHINE, None)
    if machine is not None:
        used[OTHERS] = max(0.0, machine - sum(used.values()))
    return {role: round(value, 1) for role, value in used.items()}


def summarize_size(run: SizeRun) -> dict[str, Any]:
    start, end = run.window_wall
    seconds = run.seconds
    stored = {kind: round((run.stored_after.get(kind, 0.0) - run.stored_before.get(kind, 0.0)) / seconds, 2)
              for kind in sorted(set(run.stored_after) | set(KINDS))}
    stored["total"] = round(sum(stored.values()), 2)
    in_window = {(event.incident_id, event.kind) for event in run.raised if start <= event.sent_at < end}
    latencies = {key: value[1] for key, value in run.incident_latency.items() if key in in_window}
    by_kind = {kind: _latency([value for (_, k), value in latencies.items() if k == kind])
               for kind in ("opened", "updated", "closed")}
    raised = {(event.incident_id, event.kind) for event in run.raised}
    lost = sorted(raised - run.stored_events.keys())
    sent = {(event.incident_id, event.kind): event.sent_at for event in run.raised}
    to_store = [run.stored_events[key] - sent[key] for key in in_window if key in run.stored_events]
    published = {key: at for key, at in run.published.items() if key in in_window}
    edge_part = [at - sent[key] for key, at in published.items()]
    centre_to_database = [run.stored_events[key] - at for key, at in published.items() if key in run.stored_events]
    centre_to_feed = [sent[key] + latencies[key] - at for key, at in published.items() if key in latencies]
    cpu = _cpu_shares(run)
    centre_cpu = cpu["centre"]
    evidence = run.evidence
    return {
        "halls": run.halls, "windows_per_hall": run.windows, "windows": run.halls * run.windows,
        "cameras": run.cameras, "measured_s": round(seconds, 1), "linked_after_s": round(run.ready_s, 1),
        "stored_per_s": stored,
        "incident_events": {"raised": len(raised), "stored": len(raised & run.stored_events.keys()),
                            "lost": len(lost),
                            "lost_examples": [f"{incident}/{kind}" for incident, kind in lost[:5]],
                            "on_feed": len(raised & set(run.incident_latency)), "in_window": len(in_window),
                            "incidents_evidence_missing": evidence["incidents_evidence_missing"]},
        "latency": {"incident_events": _latency(list(latencies.values())), **by_kind,
                    "incident_events_to_centre_database": _latency(to_store),
                    "edge_to_nats": _latency(edge_part), "nats_to_centre_database": _latency(centre_to_database),
                    "nats_to_live_feed": _latency(centre_to_feed),
                    "window_status": _latency([latency for at, latency in run.status_latency if start <= at < end])},
        "evidence": {"files_stored": evidence["files"], "mb_stored": round(evidence["bytes"] / MB, 1),
                     "files_per_s": round(evidence["files"] / seconds, 2),
                     "mb_per_s": round(evidence["bytes"] / MB / seconds, 2),
                     "files_written_at_edges": run.edge_files, "mb_written_at_edges": round(run.edge_bytes / MB, 1),
                     "object_store_puts_by_edges": run.edge_puts},
        "cpu_pct_of_one_core": cpu,
        "centre_cpu_pct_per_hall": round(centre_cpu / run.halls, 2),
        "centre_rss_mb": {"end": round(run.rss_samples[-1] / 2**20, 1), "peak": round(max(run.rss_samples) / 2**20, 1)},
        "edge_outbox": {"depth_max": run.outbox_depth_max, "oldest_age_max_s": round(run.outbox_age_max_s, 1)},
        "centre_backlog": {"max": run.backlog_max, "end": run.backlog_end, "max_s_of_traffic":
                           round(run.backlog_max / stored["total"], 2) if stored["total"] else None},
        "edge_processes": run.edge_processes,
        "drain_s": round(run.drain_s, 1),
        "feed": {"messages": run.feed_messages, "connects": run.feed_connects},
        "simulator_max_late_s": round(run.sim_late_s, 3),
    }


def _growth(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(sizes) < 2:
        return None
    small, large = sizes[0], sizes[-1]
    added = large["halls"] - small["halls"]
    if added <= 0:
        return None
    cpu = {role: round((large["cpu_pct_of_one_core"][role] - small["cpu_pct_of_one_core"][role]) / added, 2)
           for role in large["cpu_pct_of_one_core"] if role != OTHERS}
    return {"from_halls": small["halls"], "to_halls": large["halls"], "cpu_pct_per_added_hall": cpu,
            "centre_rss_mb_per_added_hall": round((large["centre_rss_mb"]["end"] - small["centre_rss_mb"]["end"])
                                                  / added, 2)}


def summarize_run(runs: list[SizeRun], profile: TrafficProfile, *, warmup_s: float,
                  postgres_version: str) -> dict[str, Any]:
    sizes = [summarize_size(run) for run in runs]
    largest = sizes[-1]
    p99 = largest["latency"]["incident_events"]["p99_ms"]
    at_target = largest["halls"] >= TARGET_HALLS and largest["windows_per_hall"] >= TARGET_WINDOWS
    return {
        "machine": {"cpus": os.cpu_count(), "postgres": postgres_version},
        "profile": {**asdict(profile), "incident_s": list(profile.incident_s)},
        "warmup_s": warmup_s, "sizes": sizes, "growth": _growth(sizes),
        "target": {"halls": TARGET_HALLS, "windows_per_hall": TARGET_WINDOWS, "p99_ms": TARGET_P99_MS,
                   "size_measured": at_target, "p99_met": None if p99 is None else p99 <= TARGET_P99_MS,
                   "no_loss": all(size["incident_events"]["lost"] == 0 for size in sizes)},
    }


def _cell(value: Any, form: str = "") -> str:
    return "-" if value is None else format(value, form)


def format_report(report: dict[str, Any]) -> str:
    sizes, profile = report["sizes"], report["profile"]
    lines = [f"county centre under load on this machine ({report['machine']['cpus']} CPUs; PostgreSQL "
             f"{report['machine']['postgres']}, NATS JetStream, the centre as `counterwatch centre`, the edges "
             f"simulated in worker processes), {sizes[-1]['measured_s']:g} s measured per size after "
             f"{report['warmup_s']:g} s warm-up",
             f"traffic per window: {profile['incident_rate_per_h']:g} incidents/h (opened + clip + closed; snapshot "
             f"{profile['snapshot_bytes'] / 1e3:.0f} kB, clip {profile['clip_bytes'] / MB:.1f} MB), status every "
             f"{profile['status_every_s']:g} s and on changes; per camera (4 windows) stats every "
             f"{profile['stats_every_s']:g} s, a reconnect every {profile['reconnect_every_s'] / 60:.0f} min; "
             f"edges in {sizes[-1]['edge_processes']} process(es); each edge forwards with its uplink defaults "
             "(statuses on change and at least every 30 s, camera statistics summed over 10 s)", ""]
    rows: list[tuple[str, Any]] = [("halls x windows (cameras)", lambda s: f"{s['halls']} x {s['windows_per_hall']} "
                                    f"({s['cameras']})")]
    for kind in (*KINDS, "total"):
        rows.append((f"stored/s {kind}", lambda s, k=kind: _cell(s["stored_per_s"].get(k), ".2f")))
    for name, label in (("incident_events", "incident events"), ("opened", "  opened"), ("updated", "  updated (clip)"),
                        ("closed", "  closed"), ("incident_events_to_centre_database", "  to the centre's database"),
                        ("edge_to_nats", "  edge part: to NATS"), ("nats_to_centre_database", "  NATS to database"),
                        ("nats_to_live_feed", "  centre part: NATS to feed"), ("window_status", "window status")):
        rows.append((f"latency {label} p50/p99/max ms (n)", lambda s, n=name: "{}/{}/{} ({})".format(
            _cell(s["latency"][n]["p50_ms"], ".0f"), _cell(s["latency"][n]["p99_ms"], ".0f"),
            _cell(s["latency"][n]["max_ms"], ".0f"), s["latency"][n]["n"])))
    rows += [
        ("evidence stored files/s, MB/s", lambda s: f"{s['evidence']['files_per_s']:.2f}, "
         f"{s['evidence']['mb_per_s']:.2f}"),
        ("evidence files written / put (edges)", lambda s: f"{s['evidence']['files_written_at_edges']} / "
         f"{s['evidence']['object_store_puts_by_edges']}"),
    ]
    for role in sizes[-1]["cpu_pct_of_one_core"]:
        rows.append((f"CPU % of one core: {role}", lambda s, r=role: f"{s['cpu_pct_of_one_core'][r]:.1f}"))
    rows += [
        ("centre CPU % per hall", lambda s: f"{s['centre_cpu_pct_per_hall']:.2f}"),
        ("centre RSS MB end (peak)", lambda s: f"{s['centre_rss_mb']['end']:.0f} ({s['centre_rss_mb']['peak']:.0f})"),
        ("incident events raised/stored/lost", lambda s: f"{s['incident_events']['raised']}/"
         f"{s['incident_events']['stored']}/{s['incident_events']['lost']}"),
        ("  seen on the live feed", lambda s: f"{s['incident_events']['on_feed']}"),
        ("  incidents with evidence missing", lambda s: f"{s['incident_events']['incidents_evidence_missing']}"),
        ("edge outbox largest depth (oldest s)", lambda s: f"{s['edge_outbox']['depth_max']} "
         f"({s['edge_outbox']['oldest_age_max_s']:.1f})"),
        ("centre backlog in JetStream max (end)", lambda s: f"{s['centre_backlog']['max']} "
         f"({s['centre_backlog']['end']}), {_cell(s['centre_backlog']['max_s_of_traffic'], '.1f')} s"),
        ("drain after the traffic stopped s", lambda s: f"{s['drain_s']:.1f}"),
        ("simulator's largest lag s", lambda s: f"{s['simulator_max_late_s']:.2f}"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, cell in rows:
        lines.append(f"{label:{width}s}" + "".join(f"{cell(size):>20s}" for size in sizes))
    growth = report["growth"]
    if growth is not None:
        per_hall = ", ".join(f"{role} {value:+.2f}" for role, value in growth["cpu_pct_per_added_hall"].items())
        lines.append(f"per added hall ({growth['from_halls']} -> {growth['to_halls']} halls): CPU % of one core "
                     f"{per_hall}; centre RSS {growth['centre_rss_mb_per_added_hall']:+.2f} MB")
    target = report["target"]
    p99 = sizes[-1]["latency"]["incident_events"]["p99_ms"]
    verdict = "not measured" if target["p99_met"] is None else ("met" if target["p99_met"] else "not met")
    where = "" if target["size_measured"] else (f" (measured at {sizes[-1]['halls']} x "
                                                 f"{sizes[-1]['windows_per_hall']}, not the target size)")
    centre_p99 = sizes[-1]["latency"]["nats_to_live_feed"]["p99_ms"]
    lines.append(f"target {target['halls']} halls x {target['windows_per_hall']} windows, incident events p99 <= "
                 f"{target['p99_ms'] / 1000:g} s: {verdict} (p99 {_cell(p99, '.0f')} ms edge to feed, "
                 f"{_cell(centre_p99, '.0f')} ms of it from NATS to the feed){where}; "
                 f"{'no incident event lost' if target['no_loss'] else 'INCIDENT EVENTS LOST'}")
    if target["p99_met"] is False:
        lines.append(_where_the_delay_was(sizes[-1]))
    return "\n".join(lines)


def _where_the_delay_was(size: dict[str, Any]) -> str:
    """Whether the centre fell behind (its JetStream backlog) or the simulated edges did (their outboxes)."""
    backlog_s, outbox_s = size["centre_backlog"]["max_s_of_traffic"], size["edge_outbox"]["oldest_age_max_s"]
    others = size["cpu_pct_of_one_core"].get(OTHERS, 0.0)
    shared = f"; other processes used {others:.0f}% of a core meanwhile" if others >= 10 else ""
    if backlog_s is not None and backlog_s >= 1.0:
        return f"where: the centre fell behind (its backlog reached {backlog_s:.1f} s of traffic){shared}"
    if outbox_s >= 1.0:
        return (f"where: the centre kept up (backlog at most {_cell(backlog_s, '.1f')} s of traffic); the delay was in "
                f"the simulated edges' outboxes (oldest message {outbox_s:.1f} s), which share this machine at the "
                f"lowest priority{shared}")
    return f"where: neither the centre's backlog nor the edges' outboxes held messages for a second{shared}"
