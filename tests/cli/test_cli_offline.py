"""The offline command line, run as a real ``kmbot`` subprocess on the embedded database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "workshops"
KMBOT = [sys.executable, "-m", "bot.cli"]
# Each command runs in its own process, on the real time.
pytestmark = pytest.mark.wall_clock


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run kmbot in ``cwd`` with a clean environment (SQLite default database there)."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "KMBOT_", "DATABASE_URL"))
    }
    full_env.update(env)
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        KMBOT + args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_demo_loads_the_example_workshop_and_shows_introductions(tmp_path: Path) -> None:
    res = run(["demo"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "kmbot.sqlite3").exists()
    out = res.stdout
    assert "Devon County Council" in out
    assert "Tower Hamlets" in out
    assert "Why:" in out
    assert "Traceback" not in res.stderr
    again = run(["demo"], tmp_path)
    assert again.returncode == 0
    assert "Already imported, skipped: " in again.stdout and "Added 0 post(s)" in again.stdout


def test_import_then_matches_json_follows_the_contract(tmp_path: Path) -> None:
    res = run(["import", str(FIXTURES / "good.csv")], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Added 4 post(s)" in res.stdout
    res = run(["matches", "--json"], tmp_path)
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout)
    assert isinstance(found, list) and found
    for intro in found:
        assert set(intro) == {"want", "offer", "score"}
        assert set(intro["want"]) == {"id", "council", "text"}
        assert set(intro["offer"]) == {"id", "council", "text"}
        assert isinstance(intro["score"], int) and 0 <= intro["score"] <= 100
        assert intro["want"]["council"] != intro["offer"]["council"]
    pairs = {(i["want"]["council"], i["offer"]["council"]) for i in found}
    assert ("Kent County Council", "Devon County Council") in pairs


def test_matches_explain_says_why_a_pair_is_or_is_not_introduced(tmp_path: Path) -> None:
    assert run(["import", str(FIXTURES / "good.csv")], tmp_path).returncode == 0
    pair = json.loads(run(["matches", "--json"], tmp_path).stdout)[0]
    want, offer = pair["want"], pair["offer"]
    res = run(["matches", "--explain", str(offer["id"]), str(want["id"])], tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"Want #{want['id']} ({want['council']}): {want['text']}" in res.stdout
    assert f"Score {pair['score']} (threshold 36). Why: " in res.stdout
    assert "Introduced: the score clears the threshold" in res.stdout
    bad = run(["matches", "--explain", str(want["id"]), "999"], tmp_path)
    assert bad.returncode == 2 and "There is no post #999." in bad.stderr
    words = run(["matches", "--explain", "one", "two"], tmp_path)
    assert words.returncode == 2 and "by their post numbers" in words.stderr
    assert "Traceback" not in bad.stderr + words.stderr


def test_reimporting_the_same_file_adds_nothing(tmp_path: Path) -> None:
    assert run(["import", str(FIXTURES / "good.csv")], tmp_path).returncode == 0
    res = run(["import", str(FIXTURES / "good.csv")], tmp_path)
    assert res.returncode == 0
    assert "Added 0 post(s)" in res.stdout and "Already imported, skipped: 4" in res.stdout


def test_dry_run_saves_nothing(tmp_path: Path) -> None:
    res = run(["import", "--dry-run", str(FIXTURES / "good.csv")], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Would add 4 post(s)" in res.stdout and "Dry run: nothing was saved." in res.stdout
    res = run(["matches", "--json"], tmp_path)
    assert json.loads(res.stdout) == []


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_imported(
    tmp_path: Path,
) -> None:
    res = run(["import", str(FIXTURES / "bad-rows.csv")], tmp_path)
    assert res.returncode == 1
    err = res.stderr
    assert "nothing was imported" in err
    assert "line 2:" in err and "council" in err
    assert "line 3:" in err and "line 4:" in err and "line 5:" in err
    assert "wnat" in err
    assert "Traceback" not in err
    assert json.loads(run(["matches", "--json"], tmp_path).stdout) == []


def test_missing_column_is_named(tmp_path: Path) -> None:
    res = run(["import", str(FIXTURES / "missing-column.csv")], tmp_path)
    assert res.returncode == 2
    assert "email" in res.stderr and "Traceback" not in res.stderr


def test_missing_file_and_unknown_command_are_explained(tmp_path: Path) -> None:
    res = run(["import", "nope.csv"], tmp_path)
    assert res.returncode == 2 and "No such file: nope.csv" in res.stderr
    res = run(["frobnicate"], tmp_path)
    assert res.returncode == 2 and "invalid choice" in res.stderr


def test_ambiguous_council_stops_the_import(tmp_path: Path) -> None:
    csv = tmp_path / "w.csv"
    csv.write_text(
        "council,name,email,kind,text\n"
        "Devon County Council,Jo,jo@devon.gov.uk,offer,IAR template\n"
        "Kingston,Kim,kim@example.org,want,IAR help\n"
    )
    res = run(["import", str(csv)], tmp_path)
    assert res.returncode == 1
    assert "line 3:" in res.stderr and "more than one council" in res.stderr
    assert json.loads(run(["matches", "--json"], tmp_path).stdout) == []


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    res = run(["db", "upgrade"], tmp_path)
    assert res.returncode == 0 and "Database is at revision" in res.stdout
    res = run(["db", "current"], tmp_path)
    assert "up to date" in res.stdout


@pytest.mark.postgres
def test_import_and_matches_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    url = pg_url
    res = run(["import", str(FIXTURES / "good.csv")], tmp_path, DATABASE_URL=url)
    assert res.returncode == 0, res.stderr
    found = json.loads(run(["matches", "--json"], tmp_path, DATABASE_URL=url).stdout)
    assert found and all(i["want"]["council"] != i["offer"]["council"] for i in found)


def test_serve_without_slack_settings_names_what_is_missing(tmp_path: Path) -> None:
    res = run(["serve"], tmp_path)
    assert res.returncode == 2
    assert "SLACK_BOT_TOKEN" in res.stderr and "SLACK_SIGNING_SECRET" in res.stderr
    assert "Traceback" not in res.stderr
    res = run(["socket"], tmp_path, SLACK_BOT_TOKEN="xoxb-1")
    assert res.returncode == 2 and "SLACK_APP_TOKEN" in res.stderr


def test_a_facilitators_glossary_file_creates_matches(tmp_path: Path) -> None:
    csv = tmp_path / "w.csv"
    csv.write_text(
        "council,name,email,kind,text\n"
        "Devon County Council,Jo,jo@devon.gov.uk,offer,Our TKO playbook for tenants\n"
        "Kent County Council,Raj,raj@kent.gov.uk,want,Guidance on tenancy knock-out\n"
    )
    assert run(["import", str(csv)], tmp_path).returncode == 0
    assert json.loads(run(["matches", "--json"], tmp_path).stdout) == []
    extra = tmp_path / "ours.csv"
    extra.write_text("term,expansion,kind\nTKO,tenancy knock-out,acronym\n")
    found = json.loads(run(["matches", "--json"], tmp_path, KMBOT_GLOSSARY=str(extra)).stdout)
    assert [(i["want"]["council"], i["offer"]["council"]) for i in found] == [
        ("Kent County Council", "Devon County Council")
    ]
    bad = run(["matches"], tmp_path, KMBOT_GLOSSARY=str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and "KMBOT_GLOSSARY" in bad.stderr and "Traceback" not in bad.stderr
