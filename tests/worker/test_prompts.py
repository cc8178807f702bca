"""The prompt bank shipped in bot/data/prompts.csv."""

from __future__ import annotations

import re
from collections import Counter

from bot.kernel.vocabulary import KNOWLEDGE_AREAS
from bot.services.communities import builtin_prompts

AMERICAN = re.compile(
    r"\b(organiz\w*|color\w*|center\w*|program|programs|favor\w*|behavior\w*|analyz\w*|"
    r"catalog|labor|honor\w*|licens(e|ing) to|prioritiz\w*|recogniz\w*|utiliz\w*|"
    r"optimiz\w*|customiz\w*|standardiz\w*|learned|enrollment|judgment|skeptic\w*|"
    r"fulfill|fulfills)\b",
    re.IGNORECASE,
)


def test_the_bank_has_at_least_six_distinct_prompts_per_area() -> None:
    prompts = builtin_prompts()
    counts = Counter(area for area, _ in prompts)
    assert set(counts) == set(KNOWLEDGE_AREAS)
    assert all(n >= 6 for n in counts.values()), counts
    assert len(prompts) >= 24
    texts = [text.lower() for _, text in prompts]
    assert len(set(texts)) == len(texts), "no prompt twice"


def test_prompts_are_in_british_english_and_read_as_questions() -> None:
    for area, text in builtin_prompts():
        assert not AMERICAN.search(text), f"{area}: American spelling in {text!r}"
        assert "  " not in text and text == text.strip()
        assert 40 <= len(text) <= 300, text
        assert "?" in text or text.endswith("."), text
        assert not re.search(r"[<>&]", text), "prompts are plain text"


def test_the_spelling_check_itself_catches_american_spellings() -> None:
    for bad in ("our organization", "a color chart", "the contact center", "a program of work"):
        assert AMERICAN.search(bad)
    for good in ("our organisation", "the contact centre", "a programme of work", "lessons learnt"):
        assert not AMERICAN.search(good)
