"""The labelling queue page (/labelling): the queue's first frame (behaviours below the hall's label target first,
then the one the current model is least sure about), large, with its window, camera, time and the model's scores,
and one button per label, each with its key (1-5 the behaviours, 0 nothing forbidden, S skip). The script
(labelling.js) posts the label to the API with the CSRF header, like every action of the dashboard, and reloads:
the next frame appears. The image is the API's audited image route, as the incident page shows snapshots. A
progress line shows each behaviour's labelled frames against the hall's label target. Data comes through the API
as the visitor (see api_client.py)."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from counterwatch.behaviours import BY_NAME, LABELLED_BEHAVIOURS
from monitor_api.dashboard import page_kit, present
from monitor_api.dashboard.api_client import ApiError
from monitor_api.dashboard.i18n import Translator

router = APIRouter(include_in_schema=False)

# (key, label): the API's labels (monitor_api.storage.labelling.LABELS) in the order the buttons show them.
KEYS: tuple[tuple[str, str], ...] = (*((BY_NAME[name].label_key or "", name) for name in LABELLED_BEHAVIOURS),
                                     ("0", "none"), ("s", "skip"))


@dataclass(frozen=True)
class LabelOption:
    key: str  # what the script listens for (lower case)
    key_label: str  # what the button shows
    label: str  # what the API stores
    name: str


@dataclass(frozen=True)
class ScoreView:
    name: str
    probability: str
    threshold: str
    above: bool


@dataclass(frozen=True)
class FrameView:
    id: int
    window_name: str
    camera_id: str
    captured: str
    uncertainty: str
    scores: tuple[ScoreView, ...]
    image_url: str

    @property
    def label_url(self) -> str:
        return f"/api/v1/labelling/samples/{self.id}/label"


@dataclass(frozen=True)
class ProgressView:
    behaviour: str
    text: str  # e.g. "玩手机 12/50", "玩手机 50/50（已达标）"
    needed: int
    reached: bool


def progress_views(stats: Mapping[str, Any], tr: Translator) -> tuple[ProgressView, ...]:
    """One line per behaviour from the stats' `progress` (labelled frames against the target)."""
    views = []
    for item in stats.get("progress") or ():
        behaviour = str(item.get("behaviour"))
        labelled, target, needed = item.get("labelled"), item.get("target"), item.get("needed")
        if not all(isinstance(value, int) for value in (labelled, target, needed)):
            continue
        key = "labelling.progress_reached" if needed == 0 else "labelling.progress_item"
        text = tr.t(key, name=label_name(behaviour, tr), labelled=labelled, target=target)
        views.append(ProgressView(behaviour, text, needed, needed == 0))
    return tuple(views)


def label_name(label: str, tr: Translator) -> str:
    """A behaviour by the name incidents use; none and skip by their own."""
    return tr.t(f"labelling.label.{label}") if label in ("none", "skip") else tr.label("incident_type", label)


def label_options(tr: Translator) -> tuple[LabelOption, ...]:
    return tuple(LabelOption(key, key.upper(), label, label_name(label, tr)) for key, label in KEYS)


def _percent(value: Any) -> str:
    return f"{float(value) * 100:.0f}%" if isinstance(value, (int, float)) else ""


def frame_view(document: Mapping[str, Any], tr: Translator, hall: present.HallView,
               window_names: Mapping[str, str]) -> FrameView:
    scores = []
    for score in document.get("scores") or ():
        probability, threshold = score.get("probability"), score.get("threshold")
        numbers = isinstance(probability, (int, float)) and isinstance(threshold, (int, float))
        above = numbers and probability >= threshold
        scores.append(ScoreView(label_name(str(score.get("behaviour")), tr), _percent(probability),
                                _percent(threshold), above))
    window_id = str(document.get("window_id") or "")
    return FrameView(id=int(document["id"]), window_name=window_names.get(window_id, window_id),
                     camera_id=str(document.get("camera_id") or ""),
                     captured=present.format_time(document.get("captured_at"), hall.tz),
                     uncertainty=_percent(document.get("uncertainty")), scores=tuple(scores),
                     image_url=str(document.get("image_url") or ""))


@router.get("/labelling")
async def labelling_page(request: Request) -> Response:

    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    frame: FrameView | None = None
    stats: dict[str, Any] = {}
    try:
        halls = await page_kit.halls(api, user)
        hall = page_kit.chosen_hall(request, halls)
        if hall is not None:
            queue, stats_document, windows = await asyncio.gather(
                api.get("/labelling/queue", {"hall": hall.id, "limit": 1}),
                api.get("/labelling/stats", {"hall": hall.id}), api.get("/windows", {"hall": hall.id}))
            stats = stats_document
            names = {str(w.get("window_id")): str(w.get("name") or w.get("window_id")) for w in page_kit.items(windows)}
            items = page_kit.items(queue)
            frame = frame_view(items[0], tr, hall, names) if items else None
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error, forbidden="action.forbidden")
    labelled = stats.get("labelled") or {}
    counts = [(option.name, labelled.get(option.label, 0)) for option in label_options(tr)]
    return page_kit.page(request, "labelling.html", tr, remember, {
        "user": user, "halls": halls, "hall": hall, "nav": "labelling", "frame": frame,
        "remaining": stats.get("remaining", 0), "counts": counts, "options": label_options(tr),
        "target": stats.get("target"), "progress": progress_views(stats, tr)})
