"""Build bot/data/background_df.json: word document frequencies of UK local-government text.

The matching engine smooths its own document frequencies with this prior so that a young store
(a few dozen posts) still knows that "service" and "council" are common and "gazetteer" is rare.
Source: the Local Government Services List (labels and descriptions), esd-toolkit / LGA.
Contains public sector information licensed under the Open Government Licence v3.0.

Usage: python bench/make_background_df.py [/work/shared/data/lgsl-services.csv]
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

SOURCE = Path("/work/shared/data/lgsl-services.csv")
TARGET = Path(__file__).resolve().parent.parent / "bot" / "data" / "background_df.json"
WORD = re.compile(r"[^\W\d_]{2,}")


def main(argv: list[str]) -> int:
    """Count, for each lower-cased word, the LGSL entries that use it, and write the JSON."""
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    df: Counter[str] = Counter()
    documents = 0
    with open(source, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Status", "Live") != "Live":
                continue
            documents += 1
            text = f"{row['Label']} {row['Description']}".lower()
            df.update(set(WORD.findall(text)))
    payload = {
        "source": "Local Government Services List (esd-toolkit / LGA), labels and descriptions",
        "licence": "Contains public sector information licensed under the Open Government "
        "Licence v3.0",
        "documents": documents,
        # Raw words, not stems: the engine stems them when it loads the file, so changing the
        # stemmer never needs this file rebuilt.
        "df": dict(sorted(df.items())),
    }
    TARGET.write_text(json.dumps(payload, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{documents} documents, {len(df)} words -> {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
