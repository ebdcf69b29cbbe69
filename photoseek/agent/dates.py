"""Dates people say ("2019", "last summer", "since March 2020", "去年夏天") resolved to ISO ranges.

Done in code, not by the model: a 1.5B model is unreliable at calendar arithmetic, and these phrases
are regular. Seasons are the northern-hemisphere meteorological ones (summer = June to August; winter
= December to February, named by the year it starts in).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month
CHINESE_SEASONS = {"春天": "spring", "春季": "spring", "夏天": "summer", "夏季": "summer", "秋天": "autumn",
                   "秋季": "autumn", "冬天": "winter", "冬季": "winter"}

_YEAR = r"(?:19|20)\d\d"
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_SEASON_NAMES = "|".join(SEASONS)

# Words that show a request talks about time; without one, a model's dates are an invention.
TEMPORAL_CUE = re.compile(
    rf"(?<!\d){_YEAR}(?!\d)|\b(?:{_MONTH_NAMES}|{_SEASON_NAMES}|year|years|month|months|week|weeks|day|days|"
    r"yesterday|today|tonight|ago|since|before|after|recent|recently|last|this|christmas|birthday)\b|"
    r"[年月日]|去年|今年|昨天|前天|上周|上个月|最近|春|夏|秋|冬",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateRange:
    date_from: str | None
    date_to: str | None
    phrase: str  # the words that said it, so the query text can drop them

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in (("date_from", self.date_from), ("date_to", self.date_to)) if v}


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def _season_range(season: str, year: int) -> tuple[date, date]:
    first = SEASONS[season]
    start = date(year, first, 1)
    end_month, end_year = (first + 2, year) if first + 2 <= 12 else (first + 2 - 12, year + 1)
    return start, date(end_year, end_month, monthrange(end_year, end_month)[1])


def _last_completed_season(season: str, today: date) -> tuple[date, date]:
    """"last summer": the latest summer that has ended (during summer, the one before)."""
    year = today.year
    while True:
        start, end = _season_range(season, year)
        if end < today:
            return start, end
        year -= 1


def _iso(d: date) -> str:
    return d.isoformat()


def _range(start: date | None, end: date | None, phrase: str) -> DateRange:
    return DateRange(_iso(start) if start else None, _iso(end) if end else None, phrase.strip())


def has_temporal_cue(text: str) -> bool:
    return TEMPORAL_CUE.search(text) is not None


def resolve_dates(text: str, today: date) -> DateRange | None:
    """The date range a request names, or None. The first rule that matches wins (most specific first)."""
    lowered = text.lower()

    for rule in _RULES:
        found = rule(lowered, today)
        if found is not None:
            return found
    return None


# -- rules, most specific first -----------------------------------------------------------------


def _year_span(text: str, today: date) -> DateRange | None:
    m = re.search(rf"(?:between |from )?(?<!\d)({_YEAR})\s*(?:-|–|to|and|until|till|through|至|到)\s*({_YEAR})(?!\d)", text)
    if not m:
        return None
    first, last = sorted((int(m.group(1)), int(m.group(2))))
    return _range(date(first, 1, 1), date(last, 12, 31), m.group(0))


def _chinese_year_month(text: str, today: date) -> DateRange | None:
    m = re.search(rf"({_YEAR})\s*年\s*(\d{{1,2}})\s*月", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return _range(*_month_range(int(m.group(1)), int(m.group(2))), m.group(0))
    m = re.search(rf"({_YEAR})\s*年(?:的)?(春天|春季|夏天|夏季|秋天|秋季|冬天|冬季)?", text)
    if m:
        if m.group(2):
            return _range(*_season_range(CHINESE_SEASONS[m.group(2)], int(m.group(1))), m.group(0))
        year = int(m.group(1))
        return _range(date(year, 1, 1), date(year, 12, 31), m.group(0))
    return None


def _chinese_relative(text: str, today: date) -> DateRange | None:
    m = re.search(r"(去年|今年)(?:的)?(春天|春季|夏天|夏季|秋天|秋季|冬天|冬季)", text)
    if m:
        year = today.year - 1 if m.group(1) == "去年" else today.year
        return _range(*_season_range(CHINESE_SEASONS[m.group(2)], year), m.group(0))
    if "前年" in text:
        return _range(date(today.year - 2, 1, 1), date(today.year - 2, 12, 31), "前年")
    if "去年" in text:
        return _range(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "去年")
    if "今年" in text:
        return _range(date(today.year, 1, 1), today, "今年")
    if "上个月" in text:
        last = today.replace(day=1) - timedelta(days=1)
        return _range(*_month_range(last.year, last.month), "上个月")
    if "昨天" in text:
        day = today - timedelta(days=1)
        return _range(day, day, "昨天")
    return None


def _month_year(text: str, today: date) -> DateRange | None:
    m = re.search(rf"\b({_MONTH_NAMES})\.?(?: of)?,? ({_YEAR})(?!\d)", text)
    if m:
        return _range(*_month_range(int(m.group(2)), MONTHS[m.group(1)]), m.group(0))
    m = re.search(rf"(?<![\d/])({_YEAR})-(\d{{1,2}})(?![\d-])", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return _range(*_month_range(int(m.group(1)), int(m.group(2))), m.group(0))
    return None


def _season_year(text: str, today: date) -> DateRange | None:
    m = re.search(rf"\b({_SEASON_NAMES})(?: of)? ({_YEAR})(?!\d)", text)
    if m:
        return _range(*_season_range(m.group(1), int(m.group(2))), m.group(0))
    m = re.search(rf"(?<!\d)({_YEAR}) ({_SEASON_NAMES})\b", text)
    if m:
        return _range(*_season_range(m.group(2), int(m.group(1))), m.group(0))
    return None


def _relative_season(text: str, today: date) -> DateRange | None:
    m = re.search(rf"\b(last|this|past) ({_SEASON_NAMES})\b", text)
    if not m:
        return None
    season = m.group(2)
    if m.group(1) == "this":
        return _range(*_season_range(season, today.year if season != "winter" or today.month == 12
                                     else today.year - 1), m.group(0))
    return _range(*_last_completed_season(season, today), m.group(0))


def _open_ended_year(text: str, today: date) -> DateRange | None:
    m = re.search(rf"\b(since|after|from|before|until|till|up to|prior to)\s+({_YEAR})(?!\d)(\s+on(?:wards?)?)?", text)
    if not m:
        return None
    word, year, onward = m.group(1), int(m.group(2)), m.group(3)
    if word == "since" or (word == "from" and onward):
        return _range(date(year, 1, 1), None, m.group(0))
    if word == "after":
        return _range(date(year + 1, 1, 1), None, m.group(0))
    if word in ("before", "prior to"):
        return _range(None, date(year - 1, 12, 31), m.group(0))
    if word in ("until", "till", "up to"):
        return _range(None, date(year, 12, 31), m.group(0))
    return None  # plain "from 2019" is a year: _single_year


def _relative(text: str, today: date) -> DateRange | None:
    m = re.search(r"\b(last|past) (\d+|two|three|four|five|six|seven|ten) (day|week|month|year)s?\b", text)
    if m:
        words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10}
        n = int(m.group(2)) if m.group(2).isdigit() else words[m.group(2)]
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[m.group(3)] * n
        return _range(today - timedelta(days=days), today, m.group(0))
    m = re.search(r"\b(\d+|a|one|two|three|four|five|ten) years? ago\b", text)
    if m:
        words = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}
        n = int(m.group(1)) if m.group(1).isdigit() else words[m.group(1)]
        return _range(date(today.year - n, 1, 1), date(today.year - n, 12, 31), m.group(0))
    if re.search(r"\blast year\b", text):
        return _range(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")
    if re.search(r"\bthis year\b", text):
        return _range(date(today.year, 1, 1), today, "this year")
    if re.search(r"\blast month\b", text):
        last = today.replace(day=1) - timedelta(days=1)
        return _range(*_month_range(last.year, last.month), "last month")
    if re.search(r"\bthis month\b", text):
        return _range(today.replace(day=1), today, "this month")
    if re.search(r"\blast week\b", text):
        monday = today - timedelta(days=today.weekday())
        return _range(monday - timedelta(days=7), monday - timedelta(days=1), "last week")
    if re.search(r"\bthis week\b", text):
        return _range(today - timedelta(days=today.weekday()), today, "this week")
    if re.search(r"\byesterday\b", text):
        day = today - timedelta(days=1)
        return _range(day, day, "yesterday")
    if re.search(r"\btoday\b", text):
        return _range(today, today, "today")
    m = re.search(rf"\b(?:in |from |during )?({_MONTH_NAMES})\b(?! \d)", text)
    if m and (m.group(1) != "may" or re.search(r"\b(?:in|from|during) may\b", text)):  # "may" is also a verb
        month = MONTHS[m.group(1)]
        year = today.year if month <= today.month else today.year - 1  # the latest one that has begun
        return _range(*_month_range(year, month), m.group(0))
    return None


def _single_year(text: str, today: date) -> DateRange | None:
    m = re.search(rf"(?:\b(?:in|from|during|of|taken in)\s+)?(?<![\d#/\\.-])({_YEAR})(?![\d/\\.])", text)
    if not m:
        return None
    year = int(m.group(1))
    return _range(date(year, 1, 1), date(year, 12, 31), m.group(0))


_RULES = [
    _year_span,
    _chinese_year_month,
    _chinese_relative,
    _month_year,
    _season_year,
    _relative_season,
    _open_ended_year,
    _relative,
    _single_year,
]
