"""Pushing a promoted behaviour head from the centre to edges: its two files go into each hall's bucket, then a
`head` command names them with their sha256; the edge checks, installs, activates and acknowledges
(counterwatch.county.edge.EdgeCommands.install_head). The command is kept in `county_commands` until acknowledged
(a running centre sends it again until then)."""
from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from nats.js import JetStreamContext

from counterwatch.county import wire
from monitor_api.storage import Database
from monitor_api.storage.models import CountyCommandRow
from monitor_api.storage.types import utcnow

HEAD_FILES = ("model.joblib", "card.json")


def head_files(folder: Path) -> dict[str, bytes]:
    """The files of one head version folder; FileNotFoundError names a missing one."""
    return {name: (folder / name).read_bytes() for name in HEAD_FILES}


async def push_head(js: JetStreamContext, database: Database, halls: list[str], behaviour: str, version: str,
                    files: dict[str, bytes]) -> list[str]:
    """Put the head into every hall's bucket and command its edge to install it; returns the command ids."""
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    commands = []
    for hall in halls:
        bucket = await js.object_store(wire.evidence_bucket(hall))
        for name, data in files.items():
            await bucket.put(wire.head_object(behaviour, version, name), data)
        command_id = uuid.uuid4().hex
        body = {"command_id": command_id, "behaviour": behaviour, "version": version, "files": digests}
        with database.write() as session:
            session.add(CountyCommandRow(id=command_id, hall_id=hall, kind="head", payload=body, created_at=utcnow()))
        await js.publish(wire.command_subject(hall, "head"), wire.Envelope("head", hall, body).encode(),
                         headers={"Nats-Msg-Id": command_id}, timeout=10.0)
        commands.append(command_id)
    return commands
