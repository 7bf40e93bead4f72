"""Citizen complaints (投诉问责制 第二至六条): intake, acceptance or rejection, resolution, the reply."""
from monitor_api.complaints.service import (
    CHANNELS,
    ComplaintError,
    accept_complaint,
    file_complaint,
    reject_complaint,
    reply_to_complainant,
    resolve_complaint,
)

__all__ = ["CHANNELS", "ComplaintError", "accept_complaint", "file_complaint", "reject_complaint",
           "reply_to_complainant", "resolve_complaint"]
