"""Learned heads as one more rule cue: a head at or above its card threshold opens incidents the rule's own cues
would not; without the head (or below threshold) the same recorded sequence opens none."""
from __future__ import annotations

import pytest

from counterwatch.rules.eating import Eating
from counterwatch.rules.engine import RuleEngine
from counterwatch.rules.phone import PhoneUse
from counterwatch.rules.sleeping import Sleeping
from tests.rules.helpers import OPENED, hall_config, kinds, make, person, run, seg, stream, why, without_updates
from vision.cues import BehaviourCues


def _opened(events, incident_type):
    return [e for e in events if e.kind is OPENED and e.incident_type == incident_type]


@pytest.mark.parametrize("rule_cls,behaviour", [(PhoneUse, "phone_use"), (Sleeping, "sleeping")])
def test_head_above_threshold_opens_and_without_the_head_nothing_opens(rule_cls, behaviour):
    # The rule's own cues are absent throughout: no phone, no call, head up, no eye measurement; the zone is busy
    # enough that nothing else fires (motion 0 keeps sleeping's stillness gate open for the head alone).
    with_head = stream(seg(20, staff=[person()]), seg(120, staff=[person(head=((behaviour, 0.91, 0.7),))]),
                       seg(30, staff=[person()]))
    below = stream(seg(20, staff=[person()]), seg(120, staff=[person(head=((behaviour, 0.69, 0.7),))]),
                   seg(30, staff=[person()]))
    removed = stream(seg(170, staff=[person()]))
    other = stream(seg(20, staff=[person()]), seg(120, staff=[person(head=(("eating", 0.99, 0.5),))]),
                   seg(30, staff=[person()]))

    events = without_updates(run(make(rule_cls), with_head))
    assert [k for k, _ in kinds(events)] == ["opened", "closed"]
    assert events[0].start_ts == pytest.approx(20.0)  # onset: the first frame the head fired
    params = why(events[0])[1]
    assert params["head_frames"] == params["frames"] > 0  # the head was the cue on every frame
    for states in (below, removed, other):
        assert run(make(rule_cls), states) == []


def test_head_is_ored_with_the_rules_own_cue():
    # Phone cue on even frames, head on odd frames: neither alone is dense enough (50 %), together every frame is.
    def staff(i):
        return [person(phone=0.9)] if i % 2 == 0 else [person(head=(("phone_use", 0.8, 0.6),))]

    def phone_only(i):
        return [person(phone=0.9)] if i % 2 == 0 else [person()]

    assert _opened(run(make(PhoneUse), stream(seg(120, staff=staff))), "phone_use")
    assert not _opened(run(make(PhoneUse), stream(seg(120, staff=phone_only))), "phone_use")


def test_sleeping_head_still_needs_a_still_zone():
    states = stream(seg(150, staff=[person(head=(("sleeping", 0.95, 0.5),))], motion=0.5))
    assert run(make(Sleeping), states) == []


def test_eating_head_stands_in_for_the_food_on_hand_to_mouth_movements():
    # A hand goes to the mouth for 2 s every 8 s and the head fires then, but no food box is ever found: each is a
    # movement with food. The same movements without the head are a hand at the mouth with nothing: no incident.
    def staff(i):
        at_mouth = i % 16 < 4
        return [person(hand_to_mouth=at_mouth, head=(("eating", 0.9, 0.6),) if at_mouth else ())]

    events = run(make(Eating), stream(seg(90, staff=staff)))
    assert _opened(events, "eating")
    assert run(make(Eating), stream(seg(90, staff=lambda i: [person(hand_to_mouth=i % 16 < 4)]))) == []


def test_engine_path_uses_only_the_matching_behaviours_head():
    engine = RuleEngine(hall_config())
    states = stream(seg(150, staff=[person(head=(("sleeping", 0.95, 0.5),))]))
    opened = _opened(run(engine, states), "sleeping")
    assert [e.window_id for e in opened] == ["w1"]
    assert not [e for e in run(RuleEngine(hall_config()), states) if e.incident_type == "phone_use"]


def test_cue_helpers_and_validation():
    cues = BehaviourCues(head=(("phone_use", 0.4, 0.35), ("sleeping", 0.2, 0.5)))
    assert cues.head_prob("phone_use") == 0.4 and cues.head_prob("sleeping") == 0.2
    assert cues.head_prob("eating") is None
    assert cues.head_fired("phone_use") and not cues.head_fired("sleeping") and not cues.head_fired("eating")
    assert BehaviourCues(head=(("sleeping", 0.5, 0.5),)).head_fired("sleeping")  # at the threshold fires
    with pytest.raises(ValueError, match="within 0..1"):
        BehaviourCues(head=(("sleeping", 1.2, 0.5),))
    with pytest.raises(ValueError, match="twice"):
        BehaviourCues(head=(("sleeping", 0.1, 0.5), ("sleeping", 0.2, 0.5)))


def test_an_eating_head_firing_on_and_on_without_a_hand_at_the_mouth_opens_nothing():
    # A lunch box on the desk beside someone at work: the head fires on every frame, no hand goes to the mouth.
    states = stream(seg(120, staff=[person(head=(("eating", 0.9, 0.6),))]))
    assert run(make(Eating), states) == []


def test_a_sleeping_head_below_threshold_overrules_head_down_geometry():
    # Reading at the desk seen from above: the nose below the shoulders on every frame, the zone still.
    reading = stream(seg(150, staff=[person(head_down=True)]))
    assert _opened(run(make(Sleeping), reading), "sleeping")  # no head: the geometry alone decides
    scored = stream(seg(150, staff=[person(head_down=True, head=(("sleeping", 0.1, 0.3),))]))
    assert run(make(Sleeping), scored) == []  # the head scored the person awake
