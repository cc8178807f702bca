"""Realistic generated marketplace posts for the benchmarks, seeded so every run is the same.

Texts are built the way council staff write on the flip chart: a KM asset (a template, a
toolkit, lessons learned, an information asset register, ...) about a council service from the
Local Government Services List (LGSL), with a detail from the service's description and the
usual filler ("Looking for", "Happy to share"). Councils come from the UK councils list. Without
the shared data directory a small built-in vocabulary is used, so the smoke tests still run.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]

_AREAS = ("IM", "CF", "CO", "OL", None)

# What flows between councils (PRODUCT.md): assets, methods and experience, in council words.
_ASSETS = [
    "template",
    "toolkit",
    "business case",
    "lessons learned",
    "case study",
    "framework",
    "information asset register",
    "IAR",
    "retention schedule",
    "DPIA template",
    "SharePoint site",
    "intranet pages",
    "knowledge base",
    "FAQ",
    "process map",
    "service blueprint",
    "customer journey map",
    "after action review",
    "communities of practice",
    "mentoring scheme",
    "staff induction pack",
    "onboarding checklist",
    "exit interview questions",
    "expertise directory",
    "evaluation report",
    "performance dashboard",
    "data sharing agreement",
    "privacy notice",
    "FOI response library",
    "complaints analysis",
    "channel shift plan",
    "digital inclusion strategy",
    "consultation toolkit",
    "newsletter template",
    "comms plan",
    "engagement survey",
    "benefits realisation plan",
    "risk register",
    "records management policy",
    "metadata standard",
    "taxonomy",
    "search tuning guide",
    "chatbot script",
    "contact centre scripts",
    "peer review",
    "training materials",
    "e-learning module",
    "project closure report",
    "good practice guide",
    "handover notes",
]

_WANT_OPENERS = [
    "Looking for",
    "Does anyone have",
    "Need",
    "Anyone got",
    "Keen to find",
    "Seeking",
    "We need",
    "Would love to see",
    "Hoping someone has",
    "Want examples of",
]
_OFFER_OPENERS = [
    "Happy to share",
    "We can offer",
    "Our",
    "Can share",
    "Offering",
    "We have",
    "Willing to share",
    "We built",
    "Glad to pass on",
    "We've written",
]
_LINKS = ["for", "on", "about", "covering", "for our", "to support"]
_TAILS = [
    "",
    "",
    "",
    " - ours is out of date",
    " please",
    ", ideally from a unitary",
    " before our restructure",
    " - saved us months",
    " (built in 6 months)",
    " for the new service",
    ", anything welcome",
    " we piloted last year",
]

_FALLBACK_SERVICES = [
    ("Abandoned vehicles", "The council will deal with vehicles reported as abandoned."),
    ("Housing benefit", "Help with rent for people on a low income."),
    ("Library services", "Books, computers and study space for residents."),
    ("Council tax", "Collecting council tax and handling discounts and exemptions."),
    ("Adult social care", "Care and support for adults who need it."),
    ("Waste collection", "Household bins, recycling and garden waste collections."),
    ("Planning applications", "Applying for permission to build or change the use of land."),
    ("School admissions", "Applying for a school place for your child."),
]
_FALLBACK_COUNCILS = [
    "Devon County Council",
    "Wiltshire Council",
    "Fife Council",
    "Leeds City Council",
    "Cardiff Council",
    "London Borough of Lewisham",
    "Kent County Council",
    "Belfast City Council",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")


@dataclass(frozen=True, slots=True)
class GeneratedPost:
    """One generated post: who posts it and what it says."""

    kind: str
    council: str
    text: str
    area: str | None


def _services() -> list[tuple[str, str]]:
    path = SHARED / "lgsl-services.csv"
    if not path.exists():
        return _FALLBACK_SERVICES
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [
            (r["Label"].strip(), (r.get("Description") or "").strip())
            for r in csv.DictReader(handle)
            if r.get("Status", "Live") == "Live" and r["Label"].strip()
        ]
    return rows or _FALLBACK_SERVICES


def councils() -> list[str]:
    """UK council names (the shared list, else a few)."""
    path = SHARED / "uk-councils.csv"
    if not path.exists():
        return _FALLBACK_COUNCILS
    with open(path, encoding="utf-8-sig", newline="") as handle:
        names = [r["name"].strip() for r in csv.DictReader(handle) if r["name"].strip()]
    return names or _FALLBACK_COUNCILS


class PostGenerator:
    """Generates realistic wants and offers from the LGSL, deterministically from a seed."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.services = _services()
        self.councils = councils()
        # Description words give each post a detail, as people add one on the flip chart.
        self.details = [
            [w.lower() for w in _WORD.findall(desc) if len(w) > 4][:12] for _, desc in self.services
        ]

    def text(self, kind: str) -> str:
        """One post's text."""
        r = self.random
        i = r.randrange(len(self.services))
        service = self.services[i][0]
        opener = r.choice(_WANT_OPENERS if kind == "want" else _OFFER_OPENERS)
        asset = r.choice(_ASSETS)
        detail = ""
        words = self.details[i]
        if words and r.random() < 0.7:
            detail = " - " + " ".join(r.sample(words, min(len(words), r.randint(2, 5))))
        if r.random() < 0.3:
            asset = f"{asset} and {r.choice(_ASSETS)}"
        return f"{opener} {asset} {r.choice(_LINKS)} {service.lower()}{detail}{r.choice(_TAILS)}"

    def post(self, kind: str | None = None) -> GeneratedPost:
        """One post; of the given kind, or either."""
        r = self.random
        kind = kind or r.choice(("want", "offer"))
        return GeneratedPost(kind, r.choice(self.councils), self.text(kind), r.choice(_AREAS))

    def posts(self, count: int, kind: str | None = None) -> list[GeneratedPost]:
        """``count`` posts."""
        return [self.post(kind) for _ in range(count)]


def write_workshop_csv(path: Path, rows: int, seed: int = 11) -> Path:
    """A workshop CSV (``council,name,email,kind,text,area``) with ``rows`` distinct rows."""
    gen = PostGenerator(seed)
    people: dict[str, tuple[str, str]] = {}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["council", "name", "email", "kind", "text", "area"])
        for n in range(rows):
            post = gen.post()
            n_people = len(people) + 1
            name, email = people.setdefault(
                post.council, (f"Change Agent {n_people}", f"agent{n_people}@example.gov.uk")
            )
            # A row number keeps every row distinct, as real flip charts are.
            writer.writerow(
                [post.council, name, email, post.kind, f"{post.text} #{n}", post.area or ""]
            )
    return path
