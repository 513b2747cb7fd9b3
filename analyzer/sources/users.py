"""Per-user hives: find each ``Users\\*\\NTUSER.DAT`` (and the machine's policy files) and name each user by SID.

HKEY_CURRENT_USER is the logged-on user's ``NTUSER.DAT`` loaded at ``HKEY_USERS\\<SID>``; the SID of a profile
folder is the ``ProfileList\\<SID>`` key whose ``ProfileImagePath`` names it (learn.microsoft.com/windows/win32/
sysinfo/hkey-current-user; learn.microsoft.com/troubleshoot/windows-server/user-profiles-and-logon/
renaming-user-account-not-change-profile-path: ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\
ProfileList``).  Group Policy keeps the local policy in ``System32\\GroupPolicy\\Machine|User\\Registry.pol``
and a domain GPO in SYSVOL ``Policies\\{GUID}\\Machine|User\\Registry.pol`` ([MS-GPREG] 3.2.5.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from analyzer.registry import STRING_TYPES, Path, decode_string, fold
from analyzer.sources.folder import find, listing

if TYPE_CHECKING:
    from analyzer.knowledge import Setting
    from analyzer.machine import Machine
    from analyzer.sources.hive import HiveFile

USERS: Path = ("HKEY_USERS",)
PROFILE_LIST: Path = ("HKEY_LOCAL_MACHINE", "SOFTWARE", "Microsoft", "Windows NT", "CurrentVersion", "ProfileList")
MAX_USERS = 1000  # a Users folder with more profiles than this is damage or a trap, not a machine


@dataclass(frozen=True)
class User:
    """One mounted user hive: where it is mounted, the SID (None when not known) and the profile folder name."""

    key: str  # the name under HKEY_USERS: the SID, or the profile folder name when no SID is known
    sid: str | None
    name: str
    display: str

    @property
    def prefix(self) -> Path:
        """``HKEY_USERS\\<key>``."""
        return (*USERS, self.key)

    def to_json(self) -> dict[str, object]:
        """The report's ``users`` entry."""
        return {"key": self.key, "sid": self.sid, "name": self.name, "hive": self.display}


def windows_root(folder: FsPath) -> FsPath | None:
    """The Windows root a folder is or lies in: itself (``Windows\\System32\\config`` below it), or three
    levels above a ``config`` folder."""
    if find(folder, "Windows", "System32", "config", quiet=True) is not None:
        return folder
    parts = [fold(p) for p in folder.resolve().parts[-3:]]
    if parts == ["WINDOWS", "SYSTEM32", "CONFIG"]:
        return folder.resolve().parents[2]
    return None


def ntuser_files(root: FsPath) -> list[FsPath]:
    """Every ``Users\\<name>\\NTUSER.DAT`` of a Windows root, sorted by folder name."""
    users = find(root, "Users", quiet=True)
    if users is None or not users.is_dir():
        return []
    found = []
    for name in sorted(listing(users, quiet=True))[:MAX_USERS]:
        hive = find(users, name, "NTUSER.DAT", quiet=True)
        if hive is not None and hive.is_file():
            found.append(hive)
    return found


def policy_files(root: FsPath) -> list[FsPath]:
    """The local Group Policy files of a Windows root: ``Machine`` first, then ``User``."""
    gp = find(root, "Windows", "System32", "GroupPolicy", quiet=True)
    return [p for scope in ("Machine", "User") if gp is not None
            and (p := find(gp, scope, "Registry.pol", quiet=True)) is not None and p.is_file()]


def sysvol_files(folder: FsPath) -> list[FsPath]:
    """``Policies\\{GUID}\\Machine|User\\Registry.pol`` below a SYSVOL copy (or a ``Policies`` folder), by GUID."""
    policies = folder if fold(folder.name) == "POLICIES" else find(folder, "Policies", quiet=True)
    if policies is None:
        for sub in sorted(listing(folder, quiet=True).values()):  # SYSVOL\<domain>\Policies
            if sub.is_dir() and (policies := find(sub, "Policies", quiet=True)) is not None:
                break
    if policies is None or not policies.is_dir():
        return []
    found = []
    for guid in sorted(listing(policies, quiet=True).values()):
        for scope in ("Machine", "User"):
            pol = find(guid, scope, "Registry.pol", quiet=True)
            if pol is not None and pol.is_file():
                found.append(pol)
    return found


def profile_folder(header_name: str) -> str | None:
    """The profile folder name in a hive header's file name (``\\??\\C:\\Users\\alice\\ntuser.dat``)."""
    parts = [p for p in header_name.replace("/", "\\").split("\\") if p]
    if len(parts) >= 2 and fold(parts[-1]) == "NTUSER.DAT":
        return parts[-2]
    return None


def profile_sids(machine: Machine) -> dict[str, str]:
    """Profile folder name (folded) -> SID, from ``ProfileList`` ``ProfileImagePath``."""
    out: dict[str, str] = {}
    for sid in machine.subkeys(PROFILE_LIST):
        value = machine.value((*PROFILE_LIST, sid), "ProfileImagePath")
        if value is not None and value.type_num in STRING_TYPES:
            folder = decode_string(value.data).replace("/", "\\").rstrip("\\").rpartition("\\")[2]
            if folder:
                out.setdefault(fold(folder), sid)
    return out


def name_users(hives: list[tuple[str, FsPath, str]], machine: Machine) -> list[User]:
    r"""Name each (display, file, header file name) user hive: its profile folder (``Users\<name>``, else the one
    its header names), and the SID ProfileList gives that folder, where it does."""
    sids = profile_sids(machine)
    users: list[User] = []
    taken: set[str] = set()
    for display, path, header in hives:
        in_users = fold(path.parent.parent.name) == "USERS"
        name = path.parent.name if in_users else (profile_folder(header) or path.parent.name or "user")
        sid = sids.get(fold(name))
        key = sid or name
        while fold(key) in taken:
            key += "_"
        taken.add(fold(key))
        users.append(User(key, sid, name, display))
    return users


def machine_extras(folder: FsPath | str) -> list[FsPath]:
    """The user hives and local policy files of the Windows root a machine folder is or lies in (none for
    anything else, such as a disk image's volume)."""
    folder = FsPath(folder)
    root = windows_root(folder) if folder.is_dir() else None
    return [*ntuser_files(root), *policy_files(root)] if root is not None else []


def mount(machine: Machine, hives: list[tuple[str, FsPath, str]], bases: dict[str, HiveFile]) -> list[User]:
    """Mount each user hive at ``HKEY_USERS\\<SID>`` (the folder name when no SID is known); with one user,
    ``HKEY_CURRENT_USER`` is that user."""
    from analyzer.machine import Mount

    people = name_users(hives, machine)
    machine.mounts += [Mount(user.prefix, bases[f"ntuser:{user.display}"]) for user in people]
    if len(people) == 1:
        machine.current_user = people[0].prefix
    return people


def users_tls_off(settings: list[Setting]) -> int:
    """How many users' effective WinINet settings leave neither TLS 1.2 nor TLS 1.3 on."""
    from analyzer.knowledge.wininet import is_user_setting, tls_off

    return sum(1 for s in settings if is_user_setting(s.id) and tls_off(s))
