"""The labelling queue as the API shows and accepts it: sampled frames, the model's scores, labels, counts."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from monitor_api.schemas.common import InputModel, PublicModel
from monitor_api.storage.labelling import LABELS


class LabelCreate(InputModel):
    label: str = Field(description="A behaviour (one the heads learn, or `smoking`, which no head scores "
                       "yet), `none` (nothing forbidden) or `skip` (unusable frame: not exported).",
                       json_schema_extra={"enum": list(LABELS)})

    @field_validator("label")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in LABELS:
            raise ValueError(f"unknown label: one of {', '.join(LABELS)}")
        return value


class ScorePublic(PublicModel):
    behaviour: str
    probability: float
    threshold: float = Field(description="The head's decision threshold when the frame was sampled.")


class LabelSamplePublic(PublicModel):
    id: int
    hall_id: str
    camera_id: str
    window_id: str
    captured_at: datetime
    uncertainty: float = Field(description="0..1; 1 = the current model was exactly at its threshold.")
    scores: list[ScorePublic]
    label: str | None = Field(description="Null while unlabelled.")
    labelled_by: int | None
    labelled_at: datetime | None
    purged: bool = Field(description="The image was deleted by retention; the row stays as a record.")
    image_url: str | None = Field(description="Where to fetch the privacy-masked JPEG (each view is audited).")


class LabelQueuePublic(PublicModel):
    items: list[LabelSamplePublic] = Field(description="First the frames whose most likely behaviour (the highest "
                                           "probability among their scores) still has fewer labelled frames in "
                                           "its hall than the hall's `learning.label_target_per_behaviour`; within "
                                           "each group the most uncertain first, then the newest.")
    remaining: int = Field(description="Unlabelled samples matching the filters (not only this page).")


class BehaviourProgressPublic(PublicModel):
    behaviour: str
    labelled: int = Field(description="Unpurged frames labelled with this behaviour.")
    target: int = Field(description="Labelled frames per behaviour the hall aims for "
                        "(`learning.label_target_per_behaviour`, from `counterwatch models adapt-curve`).")
    needed: int = Field(description="Frames still to label to reach the target; 0 once reached.")


class LabelStatsPublic(PublicModel):
    hall_id: str
    remaining: int = Field(description="Unlabelled samples in the queue.")
    labelled: dict[str, int] = Field(description="Samples per label, every label named (purged samples excluded).")
    target: int = Field(description="Labelled frames per behaviour the hall aims for "
                        "(`learning.label_target_per_behaviour`).")
    progress: list[BehaviourProgressPublic] = Field(description="Every behaviour a frame can be labelled with, in "
                                                    "the order of the labels: its labelled frames against the "
                                                    "target.")
