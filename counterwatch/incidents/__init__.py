"""Incidents: the events rules emit, the evidence attached to them, and the sinks that deliver them.

- events: IncidentEvent, EventKind, Evidence (the values).
- ring_buffer: FrameRingBuffer, the recent analysed frames of one camera (JPEG-encoded, bounded).
- privacy: mask_frame and its parts: citizen side filled with MASK_BGR, faces outside staff zones blurred.
- framing: the picture evidence shows: the incident's window cut out with context, other windows' staff zones and
  the citizen side masked, its zone drawn, a header naming it.
- clip_job: a clip's frames (thinned to a budget) rendered a few per analysed frame.
- media: snapshot/clip encoding (JPEG, H.264 MP4 with faststart) and atomic file writes.
- evidence: EvidenceRecorder, which writes each incident's snapshot and clip and fills IncidentEvent.evidence.
- sink: IncidentSink (registry by `type`), JsonlSink, MemorySink, event_to_dict / event_from_dict.

Submodules are imported by name (not re-exported here) so that rules importing `events` do not pull in OpenCV,
PyAV or the vision package.
"""
