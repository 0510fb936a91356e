"""The few words ``synack demo`` prints around a scenario, by language, and text wrapping
that knows Korean (Hangul) takes two terminal columns a character."""

from __future__ import annotations

import unicodedata

#: languages the explanations are written in; the first is the default
LANGUAGES = ("en", "ko")

_TEXT = {
    "notes": {"en": "In this run:", "ko": "이번 실행에서는:"},
    "no-explanation": {"en": "(This scenario has no explanation in English.)",
                       "ko": "(이 시나리오에는 한국어 설명이 아직 없어 영어 설명을 보여 줍니다.)"},
}


def text(key: str, lang: str) -> str:
    """The phrase ``key`` in ``lang`` (English when there is no translation)."""
    forms = _TEXT[key]
    return forms.get(lang) or forms["en"]


def explanation(explain: dict, lang: str) -> list[str]:
    """A scenario's explanation in ``lang`` as paragraphs. Falls back to English with a
    one-line remark when ``lang`` is missing."""
    body = explain.get(lang)
    if body:
        return [body]
    if lang != "en" and explain.get("en"):
        return [text("no-explanation", lang), explain["en"]]
    return [] if not explain.get("en") else [explain["en"]]


def width(s: str) -> int:
    """Terminal columns ``s`` takes: wide and fullwidth characters (Hangul, CJK) count two,
    combining marks none."""
    n = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def wrap(paragraph: str, columns: int, first: str = "", rest: str = "") -> list[str]:
    """``paragraph`` broken at spaces into lines of at most ``columns`` terminal columns
    (a word longer than that gets a line of its own). ``first`` prefixes the first line,
    ``rest`` the others."""
    words = paragraph.split()
    lines: list[str] = []
    line, used = first, width(first)
    empty = True
    for word in words:
        w = width(word)
        if not empty and used + 1 + w > columns:
            lines.append(line)
            line, used, empty = rest, width(rest), True
        if empty:
            line += word
            used += w
            empty = False
        else:
            line += " " + word
            used += 1 + w
    if not empty:
        lines.append(line)
    return lines
