"""Which machine the hives come from: computer name, build with UBR, edition, install date, last shutdown.

Sources: the computer name is ``SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName`` value
``ComputerName`` (the name set by Setup's ``Microsoft-Windows-Shell-Setup | ComputerName``,
https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/microsoft-windows-shell-setup-computername);
build, UBR (update build revision: the cumulative update level), ``EditionID`` and ``InstallDate`` are values
of ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``
(https://www.vcloudinfo.com/2020/12/how-to-decode-windows-version-numbers.html). Microsoft does not document
the layout of ``InstallDate`` (a REG_DWORD of seconds since 1970, UTC) nor of
``SYSTEM\\CurrentControlSet\\Control\\Windows`` ``ShutdownTime`` (an 8-byte FILETIME); they are read as the
forensic tools read them, and a value of another type or size is left out rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from analyzer.knowledge.osinfo import CURRENT_VERSION
from analyzer.machine import Machine
from analyzer.registry import REG_BINARY, REG_DWORD, REG_QWORD, STRING_TYPES, Path, decode_string, dword
from analyzer.sources import Diagnostic, SourceError

COMPUTER_NAME: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "ComputerName",
                       "ComputerName")
WINDOWS: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "Windows")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Identity:
    """What the hives say about the machine itself (None where they do not hold it)."""

    computer_name: str | None = None
    build: str | None = None  # "19045.3803": build and UBR
    edition: str | None = None
    install_date: datetime | None = None
    last_shutdown: datetime | None = None

    def to_json(self) -> dict[str, object]:
        """The report's ``machine.identity`` object (times in ISO 8601, UTC)."""
        return {"computer_name": self.computer_name, "build": self.build, "edition": self.edition,
                "install_date": _iso(self.install_date), "last_shutdown": _iso(self.last_shutdown)}

    def line(self) -> str | None:
        """One line for the text reports, or None when nothing is known."""
        parts = [f"computer {self.computer_name}" if self.computer_name else "",
                 f"build {self.build}" if self.build else "", f"edition {self.edition}" if self.edition else "",
                 f"installed {_iso(self.install_date)}" if self.install_date else "",
                 f"last shutdown {_iso(self.last_shutdown)}" if self.last_shutdown else ""]
        return " · ".join(p for p in parts if p) or None


def _iso(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _text(machine: Machine, path: Path, name: str) -> str | None:
    value = machine.value(path, name)
    if value is None or value.type_num not in STRING_TYPES:
        return None
    return decode_string(value.data).strip() or None


def _filetime(data: bytes) -> datetime | None:
    ticks = int.from_bytes(data, "little")
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10) if ticks else None
    except OverflowError:
        return None


def identify(machine: Machine) -> Identity:
    """The machine's identity, or an empty one where the hives cannot be read that far (:func:`identity_of`
    names the damage)."""
    try:
        return read(machine)
    except SourceError:
        return Identity()


def read(machine: Machine) -> Identity:
    """The machine's identity from the SYSTEM and SOFTWARE hives (or .reg files that set these values)."""
    build = _text(machine, CURRENT_VERSION, "CurrentBuildNumber") or _text(machine, CURRENT_VERSION, "CurrentBuild")
    ubr = machine.value(CURRENT_VERSION, "UBR")
    revision = dword(ubr.data) if ubr is not None and ubr.type_num == REG_DWORD else None
    installed = machine.value(CURRENT_VERSION, "InstallDate")
    seconds = dword(installed.data) if installed is not None and installed.type_num == REG_DWORD else None
    shutdown = machine.value(WINDOWS, "ShutdownTime")
    last = _filetime(shutdown.data) if shutdown is not None and shutdown.type_num in (REG_BINARY, REG_QWORD) \
        and len(shutdown.data) == 8 else None
    return Identity(_text(machine, COMPUTER_NAME, "ComputerName"),
                    f"{build}.{revision}" if build and revision is not None else build,
                    _text(machine, CURRENT_VERSION, "EditionID"),
                    datetime.fromtimestamp(seconds, timezone.utc) if seconds else None, last)


def identity_of(machine: Machine) -> tuple[Identity, list[Diagnostic]]:
    """The identity, and a warning when SYSTEM and SOFTWARE cannot be from the same machine: SYSTEM's last
    shutdown before SOFTWARE's install date means the two hives were not taken from one installation."""
    try:
        found = read(machine)
    except SourceError as exc:
        return Identity(), [Diagnostic(exc.file or "", None, "error", "unreadable",
                                       f"cannot read the machine's identity: {exc}")]
    notes = []
    if found.install_date and found.last_shutdown and found.last_shutdown < found.install_date:
        software = machine.source_of(CURRENT_VERSION) or ""
        notes.append(Diagnostic(software, None, "warning", "different-machines",
                                f"SYSTEM and SOFTWARE may come from different machines: the SYSTEM hive's last "
                                f"shutdown ({_iso(found.last_shutdown)}) is before this SOFTWARE hive's install "
                                f"date ({_iso(found.install_date)})"))
    return found, notes
