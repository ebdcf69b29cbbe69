"""photoseek: a local, private, conversational photo search assistant.

`from photoseek import Library` is the Python API; nothing heavy is imported until used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Library", "Filters", "SearchResult", "__version__"]


def __getattr__(name: str):
    # Lazy: `import photoseek` stays cheap for the CLI's start-up path.
    if name == "Library":
        from photoseek.library import Library

        return Library
    if name in ("Filters", "SearchResult", "Evidence", "IndexReport"):
        from photoseek import results

        return getattr(results, name)
    raise AttributeError(name)
