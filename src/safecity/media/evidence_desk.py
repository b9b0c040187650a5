"""Exporting evidence for a caller: scope check, the export itself, and its audit record.

`EvidenceDesk.export(scope, camera_id, start, end, out, ...)` finds the camera through an
injected lookup (the registry's device service, so a camera outside the caller's subtree and
grants is `NotFound` like everywhere else), refuses a partner whose grant lacks the export
right, cuts the clip from the recording index with `write_evidence` in a worker thread, and
appends `evidence.export` to the audit trail with the file's SHA-256 in the same step that
reports success. A failed export leaves no file and no audit record claiming one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from safecity.core.clock import Clock
from safecity.core.errors import NotFound, PermissionDenied
from safecity.core.scope import Right, Role, Scope
from safecity.media.cameras import CameraLookup
from safecity.media.evidence import EvidenceManifest, write_evidence
from safecity.media.export import Progress, SegmentFile
from safecity.media.index import RecordingIndex
from safecity.store.repositories.audit import append_by
from safecity.store.repositories.port import Transactions


class EvidenceDesk:
    def __init__(
        self,
        db: Transactions,
        index: RecordingIndex,
        clock: Clock,
        key: Ed25519PrivateKey,
        cameras: CameraLookup,
    ) -> None:
        self._db = db
        self._index = index
        self._clock = clock
        self._key = key
        self._cameras = cameras

    async def export(
        self,
        scope: Scope,
        camera_id: int,
        start: datetime,
        end: datetime,
        out: Path,
        *,
        reason: str | None = None,
        case_number: str | None = None,
        progress: Progress | None = None,
    ) -> EvidenceManifest:
        camera = await self._cameras(scope, camera_id)
        if scope.role is Role.VIEWER or not scope.has_right(
            camera.point_id, camera.org_path, Right.EXPORT
        ):
            raise PermissionDenied("exporting evidence needs the export right on this camera")
        timeline = await self._index.timeline(camera_id, start, end)
        if not timeline.segments:
            raise NotFound(f"camera {camera_id} has no recording between {start} and {end}")
        segments = [
            SegmentFile(self._index.file_of(s.record), s.record.start, s.record.end)
            for s in timeline.segments
        ]
        manifest = await asyncio.to_thread(
            write_evidence,
            segments,
            start,
            end,
            out,
            camera_id=camera.id,
            camera_gb_id=camera.gb_id,
            exporter=scope.username,
            exported_at=self._clock.now(),
            key=self._key,
            reason=reason,
            case_number=case_number,
            progress=progress,
        )
        async with self._db.write() as session:
            await append_by(
                session,
                scope,
                self._clock.now(),
                action="evidence.export",
                target=f"device:{camera.id}",
                org_path=camera.org_path,
                detail={
                    "file": manifest.file_name,
                    "sha256": manifest.sha256,
                    "start": manifest.actual_start.isoformat(),
                    "end": manifest.actual_end.isoformat(),
                    "reason": reason,
                    "case_number": case_number,
                },
            )
        return manifest
