"""Walking photo folders and telling images from other files by their content.

`scan(paths)` lists every regular file under the given folders (hidden files and folders skipped,
symbolic links followed but never in a loop) with its size and mtime; it opens no file, so an
unchanged library is re-scanned with stat calls only. Whether a file is a photo is decided later,
by `sniff_image_format` on its first bytes (magic numbers, not the extension): a text file named
.jpg is a failure, a `notes.txt` is simply not a photo.

Paths are bytes (os.fsencode) throughout, so file names that are not valid UTF-8 work.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import Iterable

from photoseek.errors import PhotoseekError
from photoseek.ingest.camera_raw import RAW_EXTENSIONS, raw_kind
from photoseek.store.catalog import display_path, path_key

# Extensions that promise an image: such a file whose content is not an image is a failure worth
# reporting; any other file whose content is not an image is just not a photo.
IMAGE_EXTENSIONS = (
    frozenset(b".jpg .jpeg .jpe .jfif .png .webp .gif .tif .tiff .bmp .dib .heic .heif .hif .avif .jxl".split())
    | RAW_EXTENSIONS
)

# Bytes needed to recognise every format below (HEIF's brand list included).
SNIFF_BYTES = 64

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff_image_format(head: bytes) -> str | None:
    """The image format of a file from its first bytes ('JPEG', 'PNG', 'WEBP', 'GIF', 'TIFF',
    'BMP', 'HEIF', 'AVIF', 'JXL', or a camera RAW kind whose bytes show it: 'CR2', 'CR3', 'RW2',
    'ORF', 'RAF', 'X3F', 'MRW'), or None when the content is not one of them. TIFF-based RAW files
    (DNG, NEF, ARW…) are 'TIFF' here: only their names tell them apart (decode.file_format)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JXL"
    kind = raw_kind(head)
    if kind is not None:
        return kind
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(head)
        if brands & _AVIF_BRANDS and head[8:12] in _AVIF_BRANDS | {b"mif1", b"msf1"}:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
    return None


def _ftyp_brands(head: bytes) -> set[bytes]:
    """Major + compatible brands of an ISO-BMFF `ftyp` box (as far as `head` reaches)."""
    box_size = int.from_bytes(head[0:4], "big")
    end = min(len(head), box_size if box_size >= 16 else len(head))
    brands = {head[8:12]}
    for offset in range(16, end - 3, 4):
        brands.add(head[offset : offset + 4])
    return brands


def describe_content(head: bytes) -> str:
    """A few words on what a non-image file holds, for failure messages."""
    if head[4:8] == b"ftyp":
        return "a video or other ISO media file"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head.startswith((b"<!DOCTYPE html", b"<html", b"<HTML")):
        return "HTML"
    sample = head.rstrip(b"\x00")
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # a multi-byte character cut off at the end of the sample is still text
        text = sample[: error.start].decode("utf-8") if error.start >= len(sample) - 3 else None
    if text is not None and all(c.isprintable() or c in "\t\r\n\f" for c in text):
        return "text"
    return "unrecognised binary data"


def has_image_extension(path: bytes) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class FoundFile:
    """A regular file found by the scan (not yet known to be a photo)."""

    path: bytes  # absolute, as reached (symbolic links in it are kept, not resolved)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanFailure:
    path: bytes
    reason: str
    size: int | None = None
    mtime_ns: int | None = None
    unreadable: bool = False  # could not be read (permissions, I/O): what it held may still exist

    @property
    def display_path(self) -> str:
        return display_path(self.path)


@dataclass
class ScanResult:
    roots: list[bytes]  # absolute paths given to the scan: its scope for mark-and-sweep
    files: list[FoundFile] = field(default_factory=list)
    failures: list[ScanFailure] = field(default_factory=list)

    def in_scope(self, path: bytes) -> bool:
        """Whether `path` lies under (or is) one of the scanned roots."""
        return any(path == root or path.startswith(root.rstrip(b"/") + b"/") for root in self.roots)


def scan(
    paths: Iterable[str | os.PathLike | bytes], exclude: Iterable[str | os.PathLike | bytes] = ()
) -> ScanResult:
    """Every regular file under `paths` (files or folders), depth first, in name order.

    Hidden entries (names starting with '.') below a root are skipped. A folder reached twice —
    through a symbolic link or a loop — is walked once (folders are identified by st_dev/st_ino),
    and so is a file reached through several links. Broken links, link loops, unreadable folders
    and non-regular files with an image extension are recorded as failures; the walk goes on.
    Folders in `exclude` (the library itself: its thumbnails are not photos) are not entered.
    Raises PhotoseekError when a root does not exist.
    """
    roots = [path_key(p) for p in paths]
    for root in roots:
        if not os.path.exists(root):
            raise PhotoseekError(f"No such file or folder: {display_path(root)}")
    result = ScanResult(roots=roots)
    walker = _Walker(result)
    for folder in exclude:
        try:
            st = os.stat(path_key(folder))
        except OSError:
            continue
        walker.visited_dirs.add((st.st_dev, st.st_ino))
    for root in roots:
        walker.visit(root, is_root=True)
    return result


class _Walker:
    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.visited_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[tuple[int, int]] = set()

    def fail(self, path: bytes, reason: str, st: os.stat_result | None = None, unreadable: bool = False) -> None:
        self.result.failures.append(
            ScanFailure(path, reason, st.st_size if st else None, st.st_mtime_ns if st else None, unreadable)
        )

    def visit(self, path: bytes, *, is_root: bool = False) -> None:
        try:
            st = os.stat(path)  # follows links: a link is judged by what it points to
        except FileNotFoundError:
            if os.path.islink(path):
                self.fail(path, f"broken symbolic link (points to {_link_target(path)})")
            return  # otherwise deleted while we walked: nothing to index
        except OSError as error:
            if error.errno == errno.ELOOP:
                self.fail(path, "symbolic link loop (the link points back to itself)")
            elif isinstance(error, PermissionError):
                self.fail(path, "cannot read: permission denied", unreadable=True)
            else:
                self.fail(path, f"cannot read: {error.strerror or error}", unreadable=True)
            return
        if stat.S_ISDIR(st.st_mode):
            self.walk_dir(path, st)
        elif stat.S_ISREG(st.st_mode):
            identity = (st.st_dev, st.st_ino)
            if identity in self.seen_files:
                return  # the same file through another link: index it once
            self.seen_files.add(identity)
            self.result.files.append(FoundFile(path, st.st_size, st.st_mtime_ns))
        elif is_root or has_image_extension(path):
            # opening a fifo would block, a device could be huge: never read these
            self.fail(path, f"not a regular file ({_file_kind(st.st_mode)})", st)

    def walk_dir(self, path: bytes, st: os.stat_result) -> None:
        identity = (st.st_dev, st.st_ino)
        if identity in self.visited_dirs:
            return  # reached again through a link: walking it twice would loop or duplicate
        self.visited_dirs.add(identity)
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except PermissionError:
            self.fail(path, "cannot read folder: permission denied", unreadable=True)
            return
        except OSError as error:
            self.fail(path, f"cannot read folder: {error.strerror or error}", unreadable=True)
            return
        for name in names:
            if name.startswith(b"."):
                continue
            self.visit(os.path.join(path, name))


def _link_target(path: bytes) -> str:
    try:
        return display_path(os.readlink(path))
    except OSError:
        return "a missing file"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
