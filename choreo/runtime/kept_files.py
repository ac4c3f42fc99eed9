"""The YAML files a load read, kept in the store for the next load (``yamlio.ParsedDocuments``), in buckets: a
run that changed one file rewrites one bucket.

Why: at N=1000 the kept files are 2 900 entries, about 1.2 MB of JSON. Kept as one record, that record was
encoded, compressed and written again whenever any file changed: a one-Link run paid for the whole network.
The entries are spread over ``BUCKETS`` records by a stable hash of each file's source (``crc32``, the same
in every process), and a load rewrites only the buckets whose entries changed. A header record says what
the entries are valid under — choreo's code and the reader's setting (``yamlio.reader_setting``) — and a
load under another header uses none of them (and rewrites them all). The records are written in the load's
transaction: a run that does not finish leaves the previous ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from choreo.code_digest import code_digest
from choreo.loader.yamlio import KeptFile, reader_setting
from choreo.store import RecordStore

TABLE = "parsed-inputs"
HEADER = "header"
BUCKETS = 64


def _bucket(source: str) -> str:
    return f"files-{zlib.crc32(source.encode()) % BUCKETS:02d}"


class KeptFiles:
    """The kept files of one project's store, as the last load left them."""

    def __init__(self, records: RecordStore) -> None:
        self._records = records
        self._rows: dict[str, Any] = dict(records.list_records(TABLE))
        self._header = {"code": code_digest(("choreo",)), "setting": reader_setting()}

    def before(self) -> dict[str, KeptFile]:
        """The kept files by source, when they were kept under this header (else none)."""
        if self._rows.get(HEADER) != self._header:
            return {}
        files: dict[str, KeptFile] = {}
        for key, row in self._rows.items():
            if key != HEADER and isinstance(row, dict):
                files.update(row)
        return files

    def keep(self, kept: Mapping[str, KeptFile]) -> None:
        """Keep ``kept`` (a load's ``ParsedDocuments.kept``) for the next load: the buckets that changed are
        written, the ones left empty (and any record of an older layout) removed."""
        rows: dict[str, Any] = {HEADER: self._header}
        for source, entry in kept.items():
            rows.setdefault(_bucket(source), {})[source] = entry
        for key, row in rows.items():
            if self._rows.get(key) != row:
                self._records.put_record(TABLE, key, row)
        for key in self._rows.keys() - rows.keys():
            self._records.delete_record(TABLE, key)
        self._rows = rows
