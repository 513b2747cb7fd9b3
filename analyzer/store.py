"""The scan results database (``--db FILE.sqlite``): one transaction per machine, so no finished machine is lost.

Schema ``regtls.db/1`` (``meta.schema``); SQLite in WAL mode, each machine written in one transaction
as it finishes, so a scan stopped by SIGINT, SIGTERM or SIGKILL leaves a valid database holding every
machine finished before it:

* ``meta(key, value)``: ``schema`` = ``regtls.db/1``, ``regtls`` = the version that created it.
* ``machines(id, machine, fingerprint, profile, verdict, error, warnings, row)``: ``id`` is the row's
  stable machine id (primary key), ``machine`` its display name, ``fingerprint`` the SHA-256 over the
  profile, the regtls version, the hive backend, the log setting and the SHA-256 of every input file
  (a rerun skips a machine whose fingerprint is unchanged), ``row`` the whole ``regtls.scan/1`` JSON
  object (every report format is rendered from it).
* ``findings(machine_id, rule, level, message, file, line, key, value)`` and
  ``settings(machine_id, setting, state, source, detail)``: the same facts as rows of SQL, for queries.
* ``inputs(machine_id, path, sha256)``: the files the fingerprint covers.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from analyzer import __version__
from analyzer.scan import Row

SCHEMA = "regtls.db/1"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (
    id TEXT PRIMARY KEY, machine TEXT NOT NULL, fingerprint TEXT NOT NULL, profile TEXT NOT NULL,
    verdict TEXT NOT NULL, error TEXT, warnings INTEGER NOT NULL, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE, rule TEXT NOT NULL, level TEXT NOT NULL,
    message TEXT NOT NULL, file TEXT, line INTEGER, key TEXT, value TEXT);
CREATE TABLE IF NOT EXISTS settings (
    machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE, setting TEXT NOT NULL,
    state TEXT NOT NULL, source TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
    machine_id TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE, path TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS findings_machine ON findings(machine_id);
CREATE INDEX IF NOT EXISTS settings_machine ON settings(machine_id);
CREATE INDEX IF NOT EXISTS inputs_machine ON inputs(machine_id);
"""


class StoreError(Exception):
    """The database cannot be used; the message is one line naming the file."""


def fingerprint(settings: dict[str, object], inputs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over what decides a machine's row: the scan settings and each input's path and SHA-256."""
    text = json.dumps({"regtls": __version__, **settings, "inputs": sorted(inputs)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Store:
    """An open results database."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if not create and not path.is_file():
            raise StoreError(f"{path}: no such database")
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            schema = self._schema()
            if schema is None and not create:
                raise StoreError(f"{path}: not a regtls results database (no {SCHEMA} schema)")
            if schema is None:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
                self.db.execute("BEGIN IMMEDIATE")
                for statement in filter(str.strip, _TABLES.split(";")):
                    self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?), ('regtls', ?)",
                                (SCHEMA, __version__))
                self.db.execute("COMMIT")
            elif schema != SCHEMA:
                raise StoreError(f"{path}: a results database of schema {schema}; this regtls reads {SCHEMA}")
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: not a usable SQLite database: {exc}") from None

    def _schema(self) -> str | None:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if not has_meta:
            if self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{self.path}: an SQLite database of another program (no regtls meta table)")
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return str(row[0]) if row else None

    def fingerprints(self) -> dict[str, str]:
        """The stored fingerprint of each machine id whose row is final (not a worker failure)."""
        return {str(i): str(f) for i, f, e in self.db.execute("SELECT id, fingerprint, error FROM machines")
                if not Row(machine="", inputs=[], error=e).transient}

    def profile(self) -> str | None:
        """The profile the stored rows were judged with (the most used one), or None for an empty database."""
        found = self.db.execute("SELECT profile FROM machines GROUP BY profile ORDER BY COUNT(*) DESC, profile "
                                "LIMIT 1").fetchone()
        return str(found[0]) if found else None

    def rows(self, ids: Iterable[str] | None = None) -> list[Row]:
        """Stored rows (all, or those of ``ids``), ordered by machine name and id."""
        found = [Row.from_json(json.loads(text)) for (text,) in
                 self.db.execute("SELECT row FROM machines ORDER BY machine, id")]
        if ids is None:
            return found
        wanted = set(ids)
        return [r for r in found if r.id in wanted]

    def put(self, row: Row, print_: str, profile: str, inputs: list[tuple[str, str]]) -> None:
        """Store one machine's row, findings, settings and inputs in one transaction (replacing its old one)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM machines WHERE id = ?", (row.id,))
            self.db.execute("INSERT INTO machines VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (row.id, row.machine, print_, profile, row.verdict, row.error, row.warnings,
                             json.dumps(row.to_json(), sort_keys=True, ensure_ascii=True)))
            self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
                (row.id, f["rule"], f["level"], f["message"], *_location(f.get("location"))) for f in row.findings])
            self.db.executemany("INSERT INTO settings VALUES (?, ?, ?, ?, ?)", [
                (row.id, s["id"], s["state"], s["source"], s["detail"]) for s in row.settings])
            self.db.executemany("INSERT INTO inputs VALUES (?, ?, ?)", [(row.id, p, d) for p, d in inputs])
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreError(f"{self.path}: cannot store {row.machine}: {exc}") from None

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the database file)."""
        self.db.close()


def _location(location: object) -> tuple[object, object, object, object]:
    loc = location if isinstance(location, dict) else {}
    return loc.get("file"), loc.get("line"), loc.get("key"), loc.get("value")
