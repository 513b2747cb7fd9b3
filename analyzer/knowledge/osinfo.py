"""Identify the Windows version from ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` (tls-facts.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.machine import Machine
from analyzer.registry import STRING_TYPES, Path, Value, decode_string

CURRENT_VERSION: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "Microsoft", "Windows NT", "CurrentVersion")
WINDOWS_11_BUILD = 22000

# (first build, client name, server name); a build maps to the last row whose first build it reaches.
# Builds from 14393 on: hcsshim osversion constants [HCS] and .NET docs [NET-DEPS]; earlier builds are
# the widely published values (tls-facts.md §3 marks them as not re-verified against a Microsoft page).
BUILDS: tuple[tuple[int, str, str], ...] = (
    (6000, "Windows Vista", "Windows Server 2008"),
    (6001, "Windows Vista SP1", "Windows Server 2008"),
    (6002, "Windows Vista SP2", "Windows Server 2008 SP2"),
    (7600, "Windows 7", "Windows Server 2008 R2"),
    (7601, "Windows 7 SP1", "Windows Server 2008 R2 SP1"),
    (9200, "Windows 8", "Windows Server 2012"),
    (9600, "Windows 8.1", "Windows Server 2012 R2"),
    (10240, "Windows 10 1507", "Windows Server (build 10240)"),
    (10586, "Windows 10 1511", "Windows Server (build 10586)"),
    (14393, "Windows 10 1607", "Windows Server 2016"),
    (15063, "Windows 10 1703", "Windows Server (build 15063)"),
    (16299, "Windows 10 1709", "Windows Server 1709"),
    (17134, "Windows 10 1803", "Windows Server 1803"),
    (17763, "Windows 10 1809", "Windows Server 2019"),
    (18362, "Windows 10 1903", "Windows Server 1903"),
    (18363, "Windows 10 1909", "Windows Server 1909"),
    (19041, "Windows 10 2004", "Windows Server 2004"),
    (19042, "Windows 10 20H2", "Windows Server 20H2"),
    (19043, "Windows 10 21H1", "Windows Server (build 19043)"),
    (19044, "Windows 10 21H2", "Windows Server (build 19044)"),
    (19045, "Windows 10 22H2", "Windows Server (build 19045)"),
    (20348, "Windows 10 (build 20348)", "Windows Server 2022"),
    (22000, "Windows 11 21H2", "Windows Server 2022"),
    (22621, "Windows 11 22H2", "Windows Server 2022"),
    (22631, "Windows 11 23H2", "Windows Server 2022"),
    (26100, "Windows 11 24H2", "Windows Server 2025"),
)


@dataclass(frozen=True)
class OsInfo:
    """The identified Windows version, with the registry values it was read from."""

    name: str
    build: int
    server: bool
    product_name: str | None
    evidence: tuple[Value, ...]
    exact: bool

    def to_json(self) -> dict[str, object]:
        """The report's ``machine.os`` object."""
        return {"name": self.name, "build": self.build, "server": self.server,
                "product_name": self.product_name, "exact_build_known": self.exact}


def _text(machine: Machine, name: str) -> tuple[str | None, Value | None]:
    value = machine.value(CURRENT_VERSION, name)
    if value is None or value.type_num not in STRING_TYPES:
        return None, value
    return decode_string(value.data).strip(), value


def name_for(build: int, server: bool) -> tuple[str, bool]:
    """The marketing name for a build and whether the build is one we know exactly."""
    row = None
    for entry in BUILDS:
        if build >= entry[0]:
            row = entry
    if row is None:
        return f"Windows (build {build}, before Vista)", False
    name = row[2] if server else row[1]
    if build >= WINDOWS_11_BUILD and not server and not name.startswith("Windows 11"):
        name = "Windows 11"
    exact = row[0] == build or (row[0] == 6002 and build == 6003)
    if exact:
        return name, True
    family = "Windows Server" if server else " ".join(name.split()[:2])
    return f"{family} (build {build})", False


def identify(machine: Machine) -> OsInfo | None:
    """Identify the OS by build (Windows 11 at build 22000 and later, whatever ProductName says)."""
    evidence: list[Value] = []
    build: int | None = None
    for name in ("CurrentBuildNumber", "CurrentBuild"):
        text, value = _text(machine, name)
        if text and text.isdigit():
            build = int(text)
            evidence.append(value)  # type: ignore[arg-type]
            break
    if build is None:
        return None
    product, value = _text(machine, "ProductName")
    if value is not None:
        evidence.append(value)
    install_type, value = _text(machine, "InstallationType")
    if install_type is not None:
        evidence.append(value)  # type: ignore[arg-type]
        server = "server" in install_type.lower()
    else:
        edition, value = _text(machine, "EditionID")
        if value is not None:
            evidence.append(value)
        server = "server" in (product or "").lower() or (edition or "").lower().startswith("server")
    name, exact = name_for(build, server)
    return OsInfo(name, build, server, product, tuple(evidence), exact)



ENVIRONMENT: Path = ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "Session Manager",
                     "Environment")
WOW64_NODE: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "WOW6432Node")


def architecture(machine: Machine) -> str | None:
    """``PROCESSOR_ARCHITECTURE`` from the SYSTEM hive (AMD64, x86, ARM64), when known (tls-facts.md §3)."""
    value = machine.value(ENVIRONMENT, "PROCESSOR_ARCHITECTURE")
    if value is None or value.type_num not in STRING_TYPES:
        return None
    return decode_string(value.data).strip() or None


def has_32bit_view(machine: Machine) -> bool | None:
    """Whether the machine has a 32-bit registry view: 64-bit Windows has ``SOFTWARE\\WOW6432Node``, 32-bit
    Windows not ([MS-WOW]).  The processor architecture or the SOFTWARE hive decides; a ``WOW6432Node`` key a
    change set writes on a 32-bit Windows is an ordinary key no program is redirected to."""
    arch = architecture(machine)
    if arch is not None:
        return arch.upper() != "X86"
    if machine.source_of(WOW64_NODE) is not None:  # the SOFTWARE hive, without the change sets, decides
        hive = Machine(machine.mounts, machine.control_set)
        return hive.exists(WOW64_NODE)
    return True if machine.exists(WOW64_NODE) else None
