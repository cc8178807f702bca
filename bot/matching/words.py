"""Words of a post's text: Slack markup out, words split, British spelling, light stemming.

Steps 1 and 3 of reading a post (see ``bot.matching``), and the stopwords step 5 drops: the
glossary-free part of normalisation, shared by the glossary compiler (``terms``) and the
background frequencies (``weights``), so both stem words exactly as posts are stemmed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class _Token:
    """A word as the engine reads it: its stem, its lower-cased form, whether it is a stopword."""

    stem: str
    surface: str
    stop: bool


def _word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text (keeps long word lists readable)."""
    return frozenset(text.split())


_STOPWORDS = _word_set(
    """
    a about above across actually after again against all almost also although always am among an
    and another any anybody anyone anything anywhere are around as ask asked at available away be
    because been before being below best between both but by can cannot could currently did do
    does doing done dont down during each either else etc ever every everyone example examples
    experience few find for from further get getting give go going good got great had happy has
    have having he her here hers hi him his how however i idea ideas if im in interested into is
    isnt it its itself just keen know lets like likely look looking lot lots love many may me
    might more most much must my myself need needed needing new next no nobody none nor not
    nothing now of off offer offering often ok on once one only or other others otherwise ought our
    ours ourselves out over own part particular particularly people perhaps please pointer
    pointers possible probably properly quite rather re really recently same see seen seeking
    share shared sharing she should show since so some somebody someone something sort still such
    sure take talk tell than thank thanks that thats the their theirs them themselves then there
    these they thing things think this those though through thus tip tips to too toward towards
    try trying under until up upon us use used useful using very via want wanted wanting wants
    was way ways we well were what whatever when where whether which while who whom whose why
    will willing wish with within without wonder wondering work worked would yes yet you your
    yours council councils authority authorities borough county city la las local hello help
    helping advice approach
    """
)


_US_TO_UK = {
    "center": "centre",
    "centers": "centres",
    "color": "colour",
    "behavior": "behaviour",
    "favor": "favour",
    "labor": "labour",
    "program": "programme",
    "programs": "programmes",
    "catalog": "catalogue",
    "defense": "defence",
    "enrollment": "enrolment",
    "fulfill": "fulfil",
    "judgment": "judgement",
    "modeling": "modelling",
    "traveling": "travelling",
    "canceled": "cancelled",
    "labeled": "labelled",
    "license": "licence",
    "analyze": "analyse",
    "analyzing": "analysing",
    "analyzed": "analysed",
    "learnt": "learned",
    "spelt": "spelled",
}
_IZE = re.compile(r"^(\w{3,})iz(e|es|ed|ing|ation|ations|er|ers)$")
_YZE = re.compile(r"^(\w{2,})yz(e|es|ed|ing)$")

_SLACK_USER_OR_CHANNEL = re.compile(r"<[@#!][^>]*>")
_SLACK_LINK_WITH_LABEL = re.compile(r"<(?:https?|mailto):[^|>]*\|([^>]*)>")
_SLACK_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>]*>")
_BARE_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[^\W_]+(?:[&'][^\W_]+)*")


def _british(word: str) -> str:
    """Read an American spelling as British (organization -> organisation)."""
    if word in _US_TO_UK:
        return _US_TO_UK[word]
    m = _IZE.match(word)
    if m and m.group(1) not in {"citi", "pr", "se"}:
        return f"{m.group(1)}is{m.group(2)}"
    m = _YZE.match(word)
    if m:
        return f"{m.group(1)}ys{m.group(2)}"
    return word


_NO_UNDOUBLE = frozenset("lsz")
_KEEP_EE = frozenset({"committee", "guarantee", "referee", "employee", "licensee"})


def _stem(word: str) -> str:
    """A light, predictable stemmer: plurals, -ing, -ed and a final -e.

    Deliberately weaker than Porter: both sides of a match go through the same steps, so it
    only has to be consistent, and it must not merge words such as "policy" and "police".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ee", "ees")) and len(word) >= 7 and word.rstrip("s") not in _KEEP_EE:
        word = word.rstrip("s")[:-2]  # retiree -> retir, as retiring; trainee -> train
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 7:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) >= 6:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _NO_UNDOUBLE:
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def _stem_word(lower: str) -> str:
    return _stem(_british(lower))


@lru_cache(maxsize=65536)
def _word_token(lower: str) -> _Token:
    """A lower-cased word's token (tokens are immutable, so posts share them)."""
    return _Token(_stem_word(lower), lower, lower in _STOPWORDS)


def _strip_markup(text: str) -> str:
    """Remove Slack markup and URLs, keeping link labels."""
    text = unicodedata.normalize("NFKC", text)
    text = _SLACK_USER_OR_CHANNEL.sub(" ", text)
    text = _SLACK_LINK_WITH_LABEL.sub(r" \1 ", text)
    text = _SLACK_BARE_LINK.sub(" ", text)
    text = _BARE_URL.sub(" ", text)
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _raw_words(text: str) -> list[str]:
    """Split cleaned text into words, dropping possessives and inner apostrophes."""
    words = []
    for word in _WORD.findall(text):
        if "'" in word:
            if word.lower().endswith("'s"):
                word = word[:-2]
            word = word.replace("'", "")
        if word:
            words.append(word)
    return words


def _plain_tokens(text: str) -> list[_Token]:
    """Tokens of glossary text: no acronym expansion, no markup."""
    tokens = []
    for word in _raw_words(_strip_markup(text)):
        lower = word.lower()
        tokens.append(_word_token(lower))
    return tokens
