"""The registry areas regtls reads: operations of ``.reg`` change sets elsewhere cannot change a verdict."""

from __future__ import annotations

import re
from collections.abc import Callable

from analyzer.knowledge.keynames import near_miss
from analyzer.registry import Path, fold

_CONTROL_SET = re.compile(r"^(CONTROLSET\d{3}|CURRENTCONTROLSET)$")
ANY_CONTROL_SET = "*"
ANY_NAME = "?"  # any one key name (a user's SID under HKEY_USERS)
_SOFTWARE = ("HKEY_LOCAL_MACHINE", "SOFTWARE")
_CONTROL = ("HKEY_LOCAL_MACHINE", "SYSTEM", ANY_CONTROL_SET, "Control")

AREAS: tuple[tuple[str, ...], ...] = (
    ("HKEY_LOCAL_MACHINE", "SYSTEM", "Select"),
    (*_CONTROL, "SecurityProviders"),
    (*_CONTROL, "Cryptography"),
    (*_CONTROL, "Lsa"),
    (*_CONTROL, "Session Manager", "Environment"),
    (*_SOFTWARE, "Microsoft", "Windows NT", "CurrentVersion"),
    (*_SOFTWARE, "Microsoft", "NET Framework Setup"),
    (*_SOFTWARE, "Microsoft", "Windows", "CurrentVersion", "Component Based Servicing", "Packages"),
    (*_SOFTWARE, "Policies", "Microsoft", "Cryptography"),
    *((*_SOFTWARE, *view, "Microsoft", ".NETFramework") for view in ((), ("WOW6432Node",))),
    *((*_SOFTWARE, *view, *branch, "Windows", "CurrentVersion", "Internet Settings")
      for view in ((), ("WOW6432Node",)) for branch in (("Microsoft",), ("Policies", "Microsoft"))),
    *((*user, "Software", *branch, "Windows", "CurrentVersion", "Internet Settings")
      for user in (("HKEY_CURRENT_USER",), ("HKEY_USERS", ANY_NAME))
      for branch in (("Microsoft",), ("Policies", "Microsoft"))),
)


class Scope:
    """A set of registry areas (key paths, ``*`` for any control set): which keys lie in, above or below one."""

    def __init__(self, areas: tuple[tuple[str, ...], ...] | list[tuple[str, ...]],
                 also: Callable[[Path], bool] | None = None) -> None:
        self._also = also  # keys kept besides the areas (misspellings of them, which lint reports)
        self._root: dict[str, dict] = {}  # type: ignore[type-arg]
        self._ends: set[int] = set()  # ids of the nodes where an area ends
        for area in areas:
            node = self._root
            for part in area:
                node = node.setdefault(part if part in (ANY_CONTROL_SET, ANY_NAME) else fold(part), {})
            self._ends.add(id(node))

    def _depth(self, path: Path) -> tuple[int, bool]:
        """How many leading parts of ``path`` follow the areas, and whether they reach the end of one."""
        node = self._root
        for depth, part in enumerate(path):
            if id(node) in self._ends:
                return depth, True
            key = fold(part)
            child = node.get(key)
            if child is None and _CONTROL_SET.match(key):
                child = node.get(ANY_CONTROL_SET)
            if child is None:
                child = node.get(ANY_NAME)
            if child is None:
                return depth, False
            node = child
        return len(path), True

    @classmethod
    def around(cls, key: Path) -> Scope:
        """The scope of one key: the key, its subkeys and its ancestors, whichever control set each names."""
        return cls([tuple(ANY_CONTROL_SET if _CONTROL_SET.match(fold(p)) else p for p in key)])

    def key_lines(self) -> re.Pattern[str]:
        """A pattern that matches, from its ``[``, the ``.reg`` key lines (``[KEY]`` or ``[-KEY]``) of keys in the
        scope, and a few more (it errs on the side of matching: the reader judges each line it stops at)."""
        def name(part: str) -> str:
            if part == ANY_NAME:
                return r"[^\\\]]+"
            return r"(?:CurrentControlSet|ControlSet\d{3})" if part == ANY_CONTROL_SET else re.escape(part)

        def after(node: dict) -> str:  # type: ignore[type-arg]
            if id(node) in self._ends or not node:
                return r"[\\\]]"
            children = "|".join(name(k) + after(v) for k, v in node.items())
            return rf"(?:\\?\]|\\(?:{children}))"

        roots = "|".join(name(k) + after(v) for k, v in self._root.items())
        return re.compile(rf"\[-?(?:{roots})", re.IGNORECASE)

    def __call__(self, path: Path) -> bool:
        """Whether ``path`` is an area, lies below one, or lies above one (creating or deleting it matters)."""
        return self._depth(path)[1] or (self._also is not None and self._also(path))

    def nearest(self, path: Path) -> Path:
        """The longest leading part of ``path`` that is in the scope (empty when even its root is not)."""
        return path[: self._depth(path)[0]]



def _misspelled(path: Path) -> bool:
    return near_miss(path) is not None


in_scope = Scope(AREAS, _misspelled)
"""The areas the rules read: a ``.reg`` operation elsewhere cannot change a verdict."""
