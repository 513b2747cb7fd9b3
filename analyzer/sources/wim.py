"""WIM and ESD install images: list their images and copy one image's hives out through ``wimlib-imagex``.

wimlib (Debian ``wimtools``) reads every WIM flavour DISM writes (XPRESS, LZX, and the LZMS solid resources of
``.esd`` files) and opens the file read-only.  Each file is streamed with ``extract --to-stdout`` through the
command's :class:`~analyzer.sources.bounded.CopyBudget`, so no size written in the WIM can fill the disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from analyzer.registry import printable
from analyzer.sources import Diagnostic, golden
from analyzer.sources.bounded import CopyBudget
from analyzer.sources.golden import SEPARATOR, Extracted, GoldenError, GoldenSpec

TOOL = "wimlib-imagex"
PACKAGE = "wimtools"
CONFIG = "Windows/System32/config"
DEFAULT_USER = "Users/Default/NTUSER.DAT"
WANTED = {f"{h}{s}".casefold(): f"{h}{s}" for h in ("SYSTEM", "SOFTWARE") for s in ("", ".LOG", ".LOG1", ".LOG2")}
MAX_XML = 16 << 20
"""The most bytes of image metadata (``info --xml``) read; a real WIM's is a few KiB per image."""
_ENV = {"WIMLIB_IMAGEX_IGNORE_CASE": "1", "LC_ALL": "C.UTF-8"}  # Windows paths match case-insensitively
_NO_PATH = 49  # wimlib's WIMLIB_ERR_PATH_DOES_NOT_EXIST


@dataclass(frozen=True)
class WimImage:
    """One image of a WIM as its XML metadata describes it."""

    index: int
    name: str
    edition: str | None = None
    build: str | None = None
    product: str | None = None

    def label(self) -> str:
        """``2 "Windows Server 2022 Datacenter" (ServerDatacenter, build 20348)``."""
        about = ", ".join(x for x in (self.edition, f"build {self.build}" if self.build else None) if x)
        return f'{self.index} "{printable(self.name)}"' + (f" ({printable(about)})" if about else "")

    def to_json(self) -> dict[str, object]:
        """The report's fields for the image."""
        return {"image_index": self.index, "image_name": self.name, "edition": self.edition, "build": self.build,
                "product": self.product}



def _tool(path: Path) -> str:
    found = shutil.which(TOOL)
    if found is None:
        raise GoldenError(f"{path}: reading WIM images needs {TOOL} (apt-get install {PACKAGE})", str(path))
    return found


def _failure(stderr: bytes, code: int) -> str:
    """wimlib's own reason as one short line (it prints ``ERROR: Exiting with error code N:`` and the text)."""
    text = stderr.decode("utf-8", "replace")
    match = re.search(r"Exiting with error code \d+:\s*(.+)", text, re.S)
    reason = " ".join((match.group(1) if match else text).split()).rstrip(".") or f"exit code {code}"
    reason = reason[0].lower() + reason[1:]
    return (reason if len(reason) <= 200 else reason[:197] + "...") + f" (wimlib error {code})"


def _run(path: Path, *args: str, limit: int = MAX_XML) -> tuple[int, bytes, bytes]:
    """Run wimlib-imagex on ``path`` and return its exit code, at most ``limit`` bytes of stdout, and stderr."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([_tool(path), args[0], str(path.resolve()), *args[1:]], stdout=subprocess.PIPE,
                                stderr=err, stdin=subprocess.DEVNULL, env={**os.environ, **_ENV})
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read(limit + 1)
        if len(out) > limit:
            proc.kill()
        code = proc.wait()
        err.seek(0)
        problem = err.read(1 << 16)
    if len(out) > limit:
        raise GoldenError(f"{path}: the output of {TOOL} {args[0]} passes {limit} bytes; not read", str(path))
    return code, out, problem


def images(path: Path) -> list[WimImage]:
    """Every image of the WIM, from its XML metadata; a one-line GoldenError for a corrupt or unreadable WIM."""
    code, out, err = _run(path, "info", "--xml")
    if code != 0:
        raise GoldenError(f"{path}: not a readable WIM file: {_failure(err, code)}", str(path))
    try:
        text = out.decode("utf-16") if out[:2] in (b"\xff\xfe", b"\xfe\xff") else out.decode("utf-16-le")
        if "<!" in text:  # no DTD, no entities: the metadata is evidence
            raise ValueError("a DTD or entity declaration")
        root = ET.fromstring(text)
    except (UnicodeDecodeError, ValueError, ET.ParseError) as exc:
        raise GoldenError(f"{path}: a WIM file whose XML metadata cannot be read ({exc})", str(path)) from None
    found = []
    for node in root.iter("IMAGE"):
        index = node.get("INDEX", "")
        if not index.isdigit():
            raise GoldenError(f"{path}: a WIM image without a valid INDEX in its XML metadata", str(path))
        windows = node.find("WINDOWS")
        found.append(WimImage(
            int(index), node.findtext("NAME") or "", _text(windows, "EDITIONID") or node.findtext("FLAGS"),
            _text(windows, "VERSION/BUILD"), _text(windows, "PRODUCTNAME")))
    if not found:
        raise GoldenError(f"{path}: a WIM file without images", str(path))
    return found


def _text(node: ET.Element | None, path: str) -> str | None:
    return node.findtext(path) if node is not None else None


def choose(path: Path, found: list[WimImage], selector: str | None) -> WimImage:
    """The image ``selector`` names (index, or name case-insensitively); without one, the only image."""
    return golden.choose(path, found, selector, WimImage.label, lambda image, text: (
        text.isdigit() and int(text) == image.index) or text.casefold() == image.name.casefold(),
        ("INDEX", "NAME"), "the WIM")


def _stored(path: Path, image: WimImage, where: str) -> list[str]:
    """The paths below ``where`` in the image as stored (their case), or [] when it does not exist."""
    code, out, err = _run(path, "dir", str(image.index), f"--path=/{where}")
    if code == _NO_PATH:
        return []
    if code != 0:
        raise GoldenError(f"{path}{SEPARATOR}{image.index}: cannot list {where}: {_failure(err, code)}", str(path))
    return out.decode("utf-8", "replace").splitlines()


def wanted(path: Path, image: WimImage) -> list[str]:
    """The stored paths of SYSTEM, SOFTWARE, their logs, and the default user's NTUSER.DAT (one entry per name)."""
    found: dict[str, str] = {}
    for line in _stored(path, image, CONFIG):
        folder, _, name = line.rpartition("/")
        canonical = WANTED.get(name.casefold())
        if canonical and folder.casefold() == f"/{CONFIG}".casefold() and (canonical not in found or
                                                                            name == canonical):
            found[canonical] = line
    users = [line for line in _stored(path, image, DEFAULT_USER) if line.casefold() == f"/{DEFAULT_USER}".casefold()]
    return sorted(found.values()) + users[:1]


def _copy(path: Path, image: WimImage, stored: str, target: Path, budget: CopyBudget) -> None:
    """Stream one file of the image into ``target`` through the budget."""
    what = f"{path}{SEPARATOR}{image.index}:{stored.replace('/', chr(92))}"
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([_tool(path), "extract", str(path.resolve()), str(image.index), stored,
                                 "--to-stdout"], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                env={**os.environ, **_ENV})
        assert proc.stdout is not None
        try:
            with proc.stdout:
                budget.copy(proc.stdout.read, target, what)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        err.seek(0)
        problem = err.read(1 << 16)
    if code != 0:
        target.unlink(missing_ok=True)
        raise GoldenError(f"{what}: cannot extract it: {_failure(problem, code)}", str(path))


def open_spec(spec: GoldenSpec, budget: CopyBudget) -> Extracted:
    """Copy the hives of the image ``spec`` names into a new temporary folder; the WIM is only read."""
    found = images(spec.path)
    image = choose(spec.path, found, spec.selector)
    origin = GoldenSpec(spec.path, spec.kind, str(image.index))
    stored = wanted(spec.path, image)
    names = {p.rpartition("/")[2].upper() for p in stored}
    missing = [h for h in ("SYSTEM", "SOFTWARE") if h not in names]
    if missing:
        raise GoldenError(f"{origin}: no {' or '.join(missing)} hive in \\{CONFIG.replace('/', chr(92))} of image "
                          f"{image.label()}", str(spec.path))
    folder = tempfile.TemporaryDirectory(prefix="regtls-wim-")
    try:
        copies: dict[Path, str] = {}
        for path in stored:
            target = Path(folder.name, *path.strip("/").split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(spec.path, image, path, target, budget)
            copies[target] = f"{origin}:{path.replace('/', chr(92))}"
    except BaseException:
        folder.cleanup()
        raise
    hives = [p for p in copies if p.parent.name.casefold() == "config" and p.name.upper() in ("SYSTEM", "SOFTWARE")]
    users = [p for p in copies if p.name.upper() == "NTUSER.DAT"]
    details = {"images": len(found), **image.to_json()}
    return Extracted(origin, spec.path, "wim-image", details, sorted(hives, key=lambda p: p.name.upper(), reverse=True),
                     copies, folder, user_notes(origin, [copies[p] for p in users]))


def user_notes(origin: GoldenSpec, users: list[str]) -> list[Diagnostic]:
    """What is said of the default user's hive copied out: it is the template of new profiles, no user's settings."""
    return [Diagnostic(str(origin), None, "note", "user-hive", f"{name}: the default user's hive is copied out but "
                       "not judged (it is the template of new profiles, not a user's settings)") for name in users]
