"""Issue 6, "done when": a hall goes from reviewed incidents in its database to a promoted, measured model with the
documented commands — dataset export, train-heads, shadow-report, promote — run through the real CLI.

The history: sleeping incidents whose snapshots are photos of a person (astronaut variants, confirmed) and false
alarms on photos without one (coffee, cat, rocket variants, dismissed), several incidents each, in a real migrated
SQLite database. The registry starts with a bad active head (trained on swapped labels); the head trained on the
hall's reviews measures better on held-out data and is promoted.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import cv2
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.dataset import read_manifest
from counterwatch.learning.registry import Registry
from tests.dataset.conftest import hall_yaml
from tests.learning.conftest import BEHAVIOUR, _bases, _variants

INCIDENTS_PER_BASE = {"astronaut": 6, "coffee": 2, "chelsea": 2, "rocket": 2}
FRAMES_PER_INCIDENT = 2  # each incident is one snapshot; its variants differ per incident


def _history(tmp: Path) -> Path:
    from monitor_api.storage import Database, EvidenceStore, create_user, ingest_event, migrate, review_incident
    from monitor_api.storage.models import ReviewDecision, Role
    from tests.api.storage.helpers import T0, event

    config_path = hall_yaml(tmp)
    data_dir = tmp / "data"
    database = Database(f"sqlite:///{tmp / 'cw.db'}")
    migrate(database)
    store = EvidenceStore(data_dir, min_free_bytes=0)
    decisions = {}
    try:
        with database.write() as session:
            n = 0
            for name, (image, person) in _bases().items():
                for k, variant in enumerate(_variants(image, INCIDENTS_PER_BASE[name], 40)):
                    incident_id = f"{name}-{k}"
                    snapshot = f"evidence/{incident_id}/snapshot.jpg"
                    (data_dir / snapshot).parent.mkdir(parents=True)
                    cv2.imwrite(str(data_dir / snapshot), variant)
                    start = n * 600.0
                    common = dict(hall="demo-hall", window=("w01", "w02")[n % 2], camera="cam-demo",
                                  incident_type=BEHAVIOUR, start_ts=start)
                    ingest_event(session, event("opened", incident_id, ts=start + 60, snapshot=snapshot, **common),
                                 evidence_store=store)
                    ingest_event(session, event("closed", incident_id, ts=start + 120, **common), evidence_store=store)
                    decisions[incident_id] = ReviewDecision.CONFIRM if person else ReviewDecision.DISMISS
                    n += 1
            reviewer = create_user(session, "supervisor", Role.SUPERVISOR, halls=["demo-hall"]).id
            for incident_id, decision in decisions.items():
                review_incident(session, incident_id, reviewer, decision, "test", "", T0 + timedelta(days=1))
    finally:
        database.dispose()
    return config_path


def _ok(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_reviewed_incidents_to_a_promoted_model_in_four_commands(datasets, tmp_path: Path) -> None:
    config = _history(tmp_path)
    registry = Registry(tmp_path / "heads")
    # Before: a bad head is active (learned the opposite on swapped labels).
    _ok("models", "train-heads", "--dataset", str(datasets["flipped"]), "--out", str(registry.root),
        "--behaviours", BEHAVIOUR, "--model", "logreg", "--cache-dir", str(datasets["cache"]))
    # A new head never displaces the shipped one by itself: the hall made it active (as `models promote` would).
    [bad] = registry.versions(BEHAVIOUR)
    registry.set_active(BEHAVIOUR, bad)

    # 1. Reviews -> dataset: confirmed incidents are positives, dismissed ones hard negatives.
    dataset = tmp_path / "ds"
    _ok("dataset", "export", "--config", str(config), "--out", str(dataset), "--no-detect")
    samples = read_manifest(dataset)
    assert sum(s.label == BEHAVIOUR for s in samples) == INCIDENTS_PER_BASE["astronaut"]
    assert sum(s.label == "none" and s.negative_for == (BEHAVIOUR,) for s in samples) == 6
    assert all(s.review_id is not None for s in samples)

    # 2. Train on them: a new version with its card, not active yet (a version is already active).
    output = _ok("models", "train-heads", "--dataset", str(dataset), "--out", str(registry.root), "--behaviours",
                 BEHAVIOUR, "--model", "logreg")
    [candidate] = [v for v in registry.versions(BEHAVIOUR) if v != bad]
    assert candidate in output and registry.active(BEHAVIOUR) == bad
    card = registry.card(BEHAVIOUR, candidate)
    assert card["dataset"]["positives"] == 6 and card["dataset"]["negatives"] == 6

    # 3. The shadow comparison runs on the hall (no shadow log yet: it says so, it does not fail).
    assert "no shadow log" in _ok("models", "shadow-report", "--config", str(config))

    # 4. Promote: measured on held-out data against the active head; better, so it becomes active.
    output = _ok("models", "promote", BEHAVIOUR, candidate, "--dataset", str(datasets["heldout"]), "--registry",
                 str(registry.root))
    assert "promoted" in output and "REFUSED" not in output
    f1 = [float(x) for x in re.findall(r"F1 ([0-9.]+)", output)]
    assert len(f1) == 2 and f1[0] > f1[1], output  # candidate vs the active one, measured
    assert registry.active(BEHAVIOUR) == candidate
    pointer = json.loads((registry.root / BEHAVIOUR / "active.json").read_text(encoding="utf-8"))
    assert pointer["history"][-1] == bad  # `models rollback` would restore it
