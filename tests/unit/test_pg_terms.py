from __future__ import annotations

from src.database.repositories.pg_terms import (
    FILTER_BUDGET,
    MAX_FILTER_TERMS,
    MAX_RANKED_ROWS,
    choose_fallback,
    choose_filter,
)

LARGE = 100_000.0


def test_no_lexeme_means_no_query() -> None:
    assert choose_filter([], LARGE) is None


def test_rare_lexemes_are_or_ed_rarest_first_within_the_budget() -> None:
    lexemes = [("printer", 1, 0.6), ("fuser", 2, 0.001), ("jam", 3, 0.004), ("tray", 4, 0.05)]
    assert choose_filter(lexemes, LARGE) == "'fuser' | 'jam'"


def test_ties_keep_the_earlier_words_of_the_ticket() -> None:
    lexemes = [(f"w{n}", n, 0.0) for n in range(MAX_FILTER_TERMS + 5, 0, -1)]
    chosen = choose_filter(lexemes, LARGE)
    assert chosen is not None
    assert chosen.split(" | ") == [f"'w{n}'" for n in range(1, MAX_FILTER_TERMS + 1)]


def test_a_lone_common_lexeme_is_still_searched() -> None:
    assert choose_filter([("vpn", 1, 0.9)], LARGE) == "'vpn'"


def test_only_common_lexemes_are_and_ed_until_selective() -> None:
    lexemes = [("vpn", 1, 0.5), ("slow", 2, 0.3), ("user", 3, 0.4), ("remot", 4, 0.45)]
    chosen = choose_filter(lexemes, LARGE)
    assert chosen == "'slow' & 'user' & 'remot'"
    assert 0.3 * 0.4 * 0.45 > FILTER_BUDGET  # capped at three terms even if still common


def test_quotes_in_lexemes_cannot_break_out() -> None:
    assert choose_filter([("it's", 1, 0.0)], LARGE) == "'it''s'"


def test_a_small_table_keeps_every_term() -> None:
    lexemes = [("vpn", 1, 0.5), ("slow", 2, 0.3), ("user", 3, 0.4)]
    assert choose_filter(lexemes, MAX_RANKED_ROWS / 2) == "'slow' | 'user' | 'vpn'"
    assert choose_filter(lexemes, 0) == "'slow' | 'user' | 'vpn'"  # never analysed


def test_an_and_with_an_unlisted_lexeme_has_a_fallback_of_listed_ones() -> None:
    # A small vocabulary: "zzq" is unlisted, so it got the floor (0.3) but may be in no row.
    lexemes = [("vpn", 1, 0.5), ("slow", 2, 0.3), ("zzq", 3, 0.3), ("user", 4, 0.4)]
    assert choose_filter(lexemes, LARGE) == "'slow' & 'zzq' & 'user'"
    listed = {"vpn", "slow", "user"}
    assert choose_fallback(lexemes, LARGE, listed) == "'slow' & 'user' & 'vpn'"
    assert choose_fallback(lexemes, LARGE, set()) == "'slow' | 'zzq' | 'user'"  # none listed
    assert choose_fallback(lexemes, LARGE, listed | {"zzq"}) is None  # every one is counted
    rare = [("fuser", 1, 0.001), ("zzq", 2, 0.3)]
    assert choose_fallback(rare, LARGE, {"fuser"}) is None  # an OR finds what any word finds
