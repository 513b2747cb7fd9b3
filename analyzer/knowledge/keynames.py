"""The exact spelling of the TLS keys Windows reads outside SCHANNEL, and the near misses that it never reads.

Key paths: .NET ``SOFTWARE[\\WOW6432Node]\\Microsoft\\.NETFramework\\v4.0.30319`` and ``v2.0.50727``
(learn.microsoft.com/dotnet/framework/network-programming/tls); WinHTTP ``...\\Internet Settings\\WinHttp``
(support.microsoft.com/help/3140245); WinINet ``Software\\Microsoft\\Windows\\CurrentVersion\\Internet
Settings`` and its ``Policies`` twin (winreg-kb.readthedocs.io, Internet Explorer keys: Policies); the
cipher suite order policy ``SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002``
(learn.microsoft.com/windows-server/security/tls/manage-tls).  A near miss is a key whose name, with the
backslashes, blanks and dots taken out, spells one of these paths (or a leading part of one) although its
components differ: ``Microsoft.NETFramework`` for ``Microsoft\\.NETFramework``, ``InternetSettings`` for
``Internet Settings``.  Key names are compared without case, as Windows does.
"""

from __future__ import annotations

from analyzer.registry import Path, fold

_NET = ("Microsoft", ".NETFramework")
_INET = ("Windows", "CurrentVersion", "Internet Settings")
_VIEWS = ((), ("WOW6432Node",))
_HKLM_SOFTWARE = ("HKEY_LOCAL_MACHINE", "SOFTWARE")
_HKCU_SOFTWARE = ("HKEY_CURRENT_USER", "Software")
NET_VERSIONS = ("v4.0.30319", "v2.0.50727")

KNOWN: tuple[Path, ...] = (
    *((*_HKLM_SOFTWARE, *view, *_NET, version) for view in _VIEWS for version in NET_VERSIONS),
    *((*_HKLM_SOFTWARE, *view, "Microsoft", *_INET, "WinHttp") for view in _VIEWS),
    *((*root, *branch, *_INET) for root in (_HKLM_SOFTWARE, _HKCU_SOFTWARE)
      for branch in (("Microsoft",), ("Policies", "Microsoft"))),
    (*_HKLM_SOFTWARE, "Policies", "Microsoft", "Cryptography", "Configuration", "SSL", "00010002"),
)


def _compact(parts: Path) -> str:
    return "".join(fold(p) for p in parts).replace(" ", "").replace(".", "").replace("\t", "")


# compact spelling of every leading part (below the root and SOFTWARE) of a known key -> that part
_PREFIXES: dict[str, Path] = {_compact(k[:j]): k[:j] for k in KNOWN for j in range(3, len(k) + 1)}
_FOLDED = {tuple(fold(p) for p in k[:j]) for k in KNOWN for j in range(1, len(k) + 1)}


def _user_view(path: Path) -> Path:
    """``HKEY_USERS\\<SID>\\...`` compared as ``HKEY_CURRENT_USER\\...``."""
    if len(path) >= 2 and fold(path[0]) == "HKEY_USERS":
        return ("HKEY_CURRENT_USER", *path[2:])
    return path


def near_miss(path: Path) -> Path | None:
    """The known key (or leading part of one) that ``path`` misspells, or None when it spells none."""
    path = _user_view(path)
    if len(path) < 3 or fold(path[0]) not in ("HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER"):
        return None
    for i in range(len(path), 2, -1):
        head = path[:i]
        meant = _PREFIXES.get(_compact(head))
        if meant is not None:
            if tuple(fold(p) for p in head) not in _FOLDED:
                return meant
            break
    return _net_version_typo(path)


def _net_version_typo(path: Path) -> Path | None:
    """A ``.NETFramework`` subkey that starts like ``v4.0.``/``v2.0.`` but is not the version Windows reads."""
    folded = tuple(fold(p) for p in path)
    for view in _VIEWS:
        parent = tuple(fold(p) for p in (*_HKLM_SOFTWARE, *view, *_NET))
        if len(folded) > len(parent) and folded[:len(parent)] == parent:
            name = path[len(parent)]
            for version in NET_VERSIONS:
                if fold(name).startswith(fold(version[:5])) and fold(name) != fold(version):
                    return (*_HKLM_SOFTWARE, *view, *_NET, version)
    return None
