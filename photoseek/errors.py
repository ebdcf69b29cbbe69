"""One error family, so the CLI can print a clear message (and exit non-zero) instead of a traceback."""

from __future__ import annotations


class PhotoseekError(Exception):
    """Base: a problem the user can act on. The message says what happened and what to do."""


class LibraryBusyError(PhotoseekError):
    """Another process is indexing this library."""


class NotFoundError(PhotoseekError):
    """A photo path or id that the catalog does not know."""


class ModelUnavailableError(PhotoseekError):
    """Weights or a model package are missing; the message names how to get them."""


class BackendConnectionError(PhotoseekError):
    """An HTTP backend (Ollama) could not be reached; the message names host and what to start."""


class UnsupportedImageError(PhotoseekError):
    """A file is not an image we can decode; `reason` is stored in the catalog's failures table."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class FileAccessError(UnsupportedImageError):
    """The file could not be read just now (gone, permission denied, an I/O error): a fact about the
    file system, not about the content, so whoever hit it tries again next time."""
