"""Incident reasons in zh-CN and English: every code a rule can emit has a sentence in both catalogues, each
sentence shows every number of its code, and a reason stored as text only still shows that text."""
from __future__ import annotations

import re

import pytest

from counterwatch.incidents.reasons import CODES, KINDS, Reason
from monitor_api.dashboard.i18n import CATALOGUES, translator
from monitor_api.dashboard.reason_text import duration, reason_text

# One value per kind, each formatted unmistakably: (value, zh, en).
SAMPLES = {
    "seconds": (75.0, "1 分 15 秒", "1 min 15 s"),
    "share": (0.85, "85%", "85%"),
    "count": (7, "7", "7"),
    "clock": ("09:15:00", "09:15:00", "09:15:00"),
    "number": (0.42, "0.42", "0.42"),
    "pause_source": ("queue", "叫号系统暂停", "queue system"),
    "sign": ("not_seen", "未看到暂停牌", "pause sign not seen"),
    "cues": (("detector", "reference"), "人员检测、与空岗画面对比", "person detector, comparison with the empty post"),
}
MAIN = Reason.of("eating.hand_to_mouth", movements=3, min_movements=3, dwell_s=20.0, held_s=10.0)


def _sample(code: str) -> Reason:
    return Reason.of(code, **{name: SAMPLES[kind][0] for name, kind in CODES[code].params})


def _document(code: str) -> dict:
    """An incident document as the API gives it, whose reason is (or ends with) `code`."""
    role = CODES[code].role
    reason = _sample(code) if role == "main" else (
        Reason(MAIN.code, MAIN.params, (_sample(code),)) if role == "note" else MAIN.closed_by(_sample(code)))
    return {"reason": "the stored English text", "reason_detail": reason.to_dict()}


def test_every_code_has_a_sentence_in_both_languages_naming_exactly_its_parameters() -> None:
    assert set(SAMPLES) == set(KINDS)  # every kind of parameter is rendered below
    fields = re.compile(r"\{(\w+)\}")
    assert len(CODES) >= 20 and {c.split(".")[0] for c in CODES} >= {
        "absent", "phone", "eating", "drinking", "sleeping", "smoking", "late", "left", "closed"}
    for code, spec in CODES.items():
        for lang, catalogue in CATALOGUES.items():
            assert f"why.{code}" in catalogue, (lang, code)
            assert set(fields.findall(catalogue[f"why.{code}"])) == {name for name, _ in spec.params}, (lang, code)


@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_code_renders_with_every_number_in_each_language(code: str, lang: str) -> None:
    tr = translator(lang)
    text = reason_text(_document(code), tr)
    assert text != "the stored English text" and "{" not in text and "why." not in text
    for name, kind in CODES[code].params:
        shown = SAMPLES[kind][1 if lang == "zh" else 2]
        assert shown in text, (name, shown, text)
    if lang == "zh":
        assert not re.search(r"[A-Za-z]{3,}", text), text  # no English words left in the zh-CN sentence


def test_the_absence_reads_as_a_supervisor_reads_it() -> None:
    reason = Reason.of("absent.no_staff", absent_s=60.0, dwell_s=30.0, share=1.0, min_share=0.7, sign="not_seen",
                       citizens_waiting=0).closed_by(Reason.of("closed.staff_back", back_s=5.0))
    document = {"reason": reason.english(), "reason_detail": reason.to_dict()}
    assert reason_text(document, translator("zh")) == (
        "工位无人已持续 1 分钟（规定：无人达到 30 秒即告警）；最近 30 秒内 100% 的画面未见工作人员（需达到 70%）；"
        "未看到暂停牌；叫号系统未暂停，处于服务时段；等候群众 0 人。结束原因：工作人员已回到岗位（连续 5 秒）")
    assert reason_text(document, translator("en")) == (
        "Nobody at the post for 1 min (the rule alerts after 30 s); no staff in 100% of the frames of the last 30 s "
        "(needs 70%); pause sign not seen; queue not paused, within service hours; 0 citizen(s) waiting. Closed: "
        "staff back at the post for 5 s")


def test_a_reason_this_version_cannot_render_shows_the_stored_text() -> None:
    tr = translator("zh")
    assert reason_text({"reason": "phone in hand for 30 s"}, tr) == "phone in hand for 30 s"
    assert reason_text({"reason": "phone in hand for 30 s", "reason_detail": None}, tr) == "phone in hand for 30 s"
    newer = {"reason": "a newer edge's text", "reason_detail": {"code": "phone.new_cue", "params": {}}}
    assert reason_text(newer, tr) == "a newer edge's text"
    short = {"reason": "text", "reason_detail": {"code": "closed.staff_back", "params": {}}}
    assert reason_text(short, tr) == "text"
    assert reason_text({}, tr) == ""


def test_durations_read_in_seconds_minutes_or_hours() -> None:
    zh = translator("zh")
    assert [duration(s, zh) for s in (1.5, 5.0, 59.6, 120.0, 150.0, 7260.0)] == [
        "1.5 秒", "5 秒", "1 分钟", "2 分钟", "2 分 30 秒", "2 小时 1 分"]
