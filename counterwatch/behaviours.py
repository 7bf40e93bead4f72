"""The one table of the behaviours counterwatch flags. Every list of behaviour names in the code derives from it:
the incident types and the rules' order, the behaviours a learned head can score, the labelling keys, the absence
types of the reports, the default score deductions and the zh-CN / English names.

Adding a behaviour: one rule module (counterwatch/rules/, registered under the behaviour's name, with its settings
class in counterwatch/config/rules.py), one row here, and their tests (CONTRIBUTING.md has the recipe).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Behaviour:
    name: str  # the incident type (API, database, rule registry, config `rules.<name>`)
    zh: str  # what the dashboard, evidence titles and reports call it (zh-CN)
    en: str
    rule_module: str  # the module whose rule registers itself under `name`
    learnable: bool = False  # a learned head can score it (`models.heads`, `counterwatch models train`)
    label_key: str | None = None  # the labelling page's key; None: not labelled in the queue
    absence: bool = False  # the staff member is away from the post: the reports count it against presence
    deduction: float = 1.0  # default points per confirmed incident (configs/scoring.yaml may override)
    # (min duration in seconds, points) for longer incidents, ascending
    deduction_bands: tuple[tuple[float, float], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"Behaviour.name must be an identifier, got {self.name!r}")
        if self.label_key is not None and (len(self.label_key) != 1 or not self.label_key.isdigit()):
            raise ValueError(f"Behaviour {self.name}: label_key must be one digit, got {self.label_key!r}")
        starts = [start for start, _ in self.deduction_bands]
        if starts != sorted(set(starts)):
            raise ValueError(f"Behaviour {self.name}: deduction_bands must ascend by duration")


# The order is the rules' evaluation order (events of one frame come out in it). Points: 礼仪标准规范 二 (一) 行为
# 规定 2, 3 and 5 forbid these; the county's rules set no point values, so these are the product's defaults.
BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour("absent_without_pause", "离岗未放暂停牌", "Absent without pause sign", "counterwatch.rules.absent",
              absence=True, deduction=2, deduction_bands=((600, 4), (1800, 6))),
    Behaviour("phone_use", "玩手机", "Phone use", "counterwatch.rules.phone", learnable=True, label_key="1",
              deduction=2, deduction_bands=((300, 3),)),
    Behaviour("eating", "进食", "Eating", "counterwatch.rules.eating", learnable=True, label_key="2", deduction=2),
    Behaviour("drinking", "饮水", "Drinking", "counterwatch.rules.eating", learnable=True, label_key="3",
              deduction=1),
    Behaviour("smoking", "吸烟", "Smoking", "counterwatch.rules.smoking", label_key="5", deduction=2),
    Behaviour("sleeping", "睡岗", "Sleeping at the post", "counterwatch.rules.sleeping", learnable=True,
              label_key="4", deduction=3, deduction_bands=((600, 5),)),
    Behaviour("late_arrival", "迟到", "Late arrival", "counterwatch.rules.attendance", deduction=2),
    Behaviour("left_during_service", "服务中离岗", "Left during service", "counterwatch.rules.attendance",
              absence=True, deduction=3),
)

BY_NAME: dict[str, Behaviour] = {b.name: b for b in BEHAVIOURS}
INCIDENT_TYPES: tuple[str, ...] = tuple(b.name for b in BEHAVIOURS)
HEAD_BEHAVIOURS: tuple[str, ...] = tuple(b.name for b in BEHAVIOURS if b.learnable)
# Labelled in the queue, in key order (a head's data is built from them even before a head exists).
LABELLED_BEHAVIOURS: tuple[str, ...] = tuple(
    b.name for b in sorted((b for b in BEHAVIOURS if b.label_key), key=lambda b: b.label_key or ""))
ABSENCE_TYPES: frozenset[str] = frozenset(b.name for b in BEHAVIOURS if b.absence)
RULE_MODULES: tuple[str, ...] = tuple(dict.fromkeys(b.rule_module for b in BEHAVIOURS))


def behaviour(name: str) -> Behaviour:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown behaviour {name!r}: one of {', '.join(INCIDENT_TYPES)}") from None


def _check_table() -> None:
    names = [b.name for b in BEHAVIOURS]
    keys = [b.label_key for b in BEHAVIOURS if b.label_key]
    if len(set(names)) != len(names) or len(set(keys)) != len(keys):
        raise ValueError("counterwatch.behaviours: names and label keys must be unique")


_check_table()
