"""`counterwatch models shadow-report`: shadow alerts vs live incidents, matched by overlapping time at one window."""
from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from counterwatch.incidents.sink import event_to_dict
from counterwatch.rules.phone import PhoneUse
from tests.config.test_config import GOOD
from tests.rules.helpers import make, person, run, seg, stream


def _events(segments, window="w1"):
    return [event_to_dict(e) for e in run(make(PhoneUse, window=window), stream(*segments, window=window))]


def test_shadow_report_counts_and_agreement(tmp_path):
    from counterwatch.cli import main

    head = [person(head=(("phone_use", 0.9, 0.5),))]
    phone = [person(phone=0.9)]
    # Shadow: two incidents at w1 (from 20 s and from 300 s). Live: one at w1 overlapping the first shadow one, and
    # one at w2 within the shadow period that no shadow incident matches (another window).
    shadow = _events([seg(20, staff=[person()]), seg(100, staff=head), seg(180, staff=[person()]),
                      seg(100, staff=head), seg(30, staff=[person()])])
    live = _events([seg(30, staff=[person()]), seg(100, staff=phone), seg(30, staff=[person()])])
    live_elsewhere = _events([seg(200, staff=[person()]), seg(100, staff=phone), seg(30, staff=[person()])],
                             window="w2")
    data = tmp_path / "data"
    (data / "shadow").mkdir(parents=True)
    (data / "shadow" / "phone_use.jsonl").write_text(
        "".join(json.dumps({**e, "shadow_version": "v2"}) + "\n" for e in shadow), encoding="utf-8")
    (data / "incidents.jsonl").write_text("".join(json.dumps(e) + "\n" for e in live + live_elsewhere),
                                          encoding="utf-8")
    config = tmp_path / "hall.yaml"
    config.write_text(GOOD + f"storage: {{data_dir: {data}}}\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["models", "shadow-report", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.output)
    assert summary["behaviour"] == "phone_use" and summary["versions"] == ["v2"]
    assert (summary["shadow"], summary["live"], summary["both"], summary["shadow_only"], summary["live_only"]) == (
        2, 2, 1, 1, 1)
    assert summary["agreement"] == 1 / 3

    text = CliRunner().invoke(main, ["models", "shadow-report", "--config", str(config)])
    assert text.exit_code == 0 and "agreement 33%" in text.output and "shadow 2 alerts" in text.output


def test_shadow_report_precision_on_reviewed_incidents(tmp_path):
    """Live incidents reviewed in a real migrated database: the live model's precision over its reviewed incidents,
    the candidate's over the reviewed incidents its alerts overlap, and what it would have missed or spared."""
    from counterwatch.cli import main
    from monitor_api.storage import Database, EvidenceStore, create_user, ingest_event, migrate, review_incident
    from monitor_api.storage.models import ReviewDecision, Role
    from tests.api.storage.helpers import T0, event

    def lines(incident_id: str, start: float, end: float, **extra) -> list[dict]:
        common = dict(hall="h1", window="w1", camera="cam1", start_ts=start)
        return [{**event_to_dict(event("opened", incident_id, ts=start + 5, **common)), **extra},
                {**event_to_dict(event("closed", incident_id, ts=end, **common)), **extra}]

    live = {"L1": (0, 100), "L2": (200, 300), "L3": (400, 500), "L4": (600, 700)}
    reviews = {"L1": ReviewDecision.CONFIRM, "L2": ReviewDecision.DISMISS, "L3": ReviewDecision.DISMISS}
    shadow = {"S1": (50, 120), "S2": (410, 420), "S3": (800, 900)}  # S1 ~ L1, S2 ~ L3, S3 alone
    data = tmp_path / "data"
    (data / "shadow").mkdir(parents=True)
    (data / "incidents.jsonl").write_text("".join(json.dumps(line) + "\n" for i, (a, b) in live.items()
                                                  for line in lines(i, a, b)), encoding="utf-8")
    (data / "shadow" / "phone_use.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for i, (a, b) in shadow.items()
                for line in lines(i, a, b, shadow_version="v3")), encoding="utf-8")
    database = Database(f"sqlite:///{tmp_path / 'cw.db'}")
    migrate(database)
    try:
        with database.write() as session:
            store = EvidenceStore(data, min_free_bytes=0)
            for incident_id, (start, end) in live.items():
                for kind, ts in (("opened", start + 5), ("closed", end)):
                    ingest_event(session, event(kind, incident_id, ts=ts, start_ts=start, hall="h1", window="w1",
                                                camera="cam1"), evidence_store=store)
            reviewer = create_user(session, "sup", Role.SUPERVISOR, halls=["h1"]).id
            for incident_id, decision in reviews.items():
                review_incident(session, incident_id, reviewer, decision, "test", "", T0 + timedelta(days=1))
    finally:
        database.dispose()
    config = tmp_path / "hall.yaml"
    config.write_text(GOOD + f"storage: {{data_dir: {data}, url: 'sqlite:///{tmp_path / 'cw.db'}'}}\n",
                      encoding="utf-8")

    result = CliRunner().invoke(main, ["models", "shadow-report", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.output)
    assert (summary["shadow"], summary["live"], summary["both"], summary["shadow_only"]) == (3, 4, 2, 1)
    reviewed = summary["reviewed"]
    assert (reviewed["live_confirmed"], reviewed["live_dismissed"]) == (1, 2)
    assert (reviewed["shadow_confirmed"], reviewed["shadow_dismissed"]) == (1, 1)
    assert reviewed["live_precision"] == 1 / 3 and reviewed["shadow_precision"] == 1 / 2
    assert (reviewed["missed"], reviewed["spared"]) == (0, 1)

    text = CliRunner().invoke(main, ["models", "shadow-report", "--config", str(config)])
    assert text.exit_code == 0, text.output
    assert "live precision 33% (1 confirmed / 3)" in text.output and "candidate precision 50% (1 / 2)" in text.output
    assert "spare 1 dismissed" in text.output and "1 candidate alerts unreviewed" in text.output
