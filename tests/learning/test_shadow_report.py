"""`counterwatch models shadow-report`: shadow alerts vs live incidents, matched by overlapping time at one window."""
from __future__ import annotations

import json

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
