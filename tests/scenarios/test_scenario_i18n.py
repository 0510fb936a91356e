"""Text around the scenarios: Korean takes two columns a character, wrapping respects that,
and a missing translation falls back to English with a remark."""

from __future__ import annotations

from synack.scenarios import i18n


def test_width_counts_hangul_twice():
    assert i18n.width("TIME-WAIT") == 9
    assert i18n.width("시퀀스 번호") == 11
    assert i18n.width("ｓｙｎ") == 6          # fullwidth Latin


def test_wrap_never_exceeds_the_columns_and_keeps_every_word():
    text = "클라이언트가 close()를 호출해 FIN을 보내고 FIN-WAIT-1(FIN_WAIT_1) 상태가 됩니다. " * 5
    for cols in (30, 40, 79):          # every word fits in 30 columns
        lines = i18n.wrap(text, cols, first="- ", rest="  ")
        assert all(i18n.width(line) <= cols for line in lines)
        assert lines[0].startswith("- ") and all(line.startswith("  ") for line in lines[1:])
        assert " ".join(w for line in lines for w in line.split() if w != "-") == " ".join(text.split())


def test_a_word_longer_than_the_line_gets_a_line_of_its_own():
    assert i18n.wrap("a " + "x" * 30 + " b", 10) == ["a", "x" * 30, "b"]


def test_missing_translation_falls_back_to_english_with_a_remark():
    assert i18n.explanation({"en": "E", "ko": "K"}, "ko") == ["K"]
    paras = i18n.explanation({"en": "E"}, "ko")
    assert paras[-1] == "E" and "영어" in paras[0]
    assert i18n.explanation({"en": "E"}, "en") == ["E"]
    assert i18n.text("notes", "ko") == "이번 실행에서는:" and i18n.text("notes", "xx") == "In this run:"
