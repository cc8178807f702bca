"""kmbot facilitator / stats / export from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from admin_kit import build_known_market

from bot.cli.main import main
from bot.container import build_container
from bot.kernel.settings import Settings
from bot.services import audit


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KMBOT_FACILITATORS", "U0BOOT")
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "WARNING")
    return database_url


def test_facilitator_add_list_remove(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("facilitator", "list")
    assert code == 0 and out.startswith("U0BOOT\t"), "KMBOT_FACILITATORS is applied by the CLI"
    assert run("facilitator", "add", "U0NEW") == (0, "U0NEW is now a facilitator.\n")
    code, out = run("facilitator", "list")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["U0BOOT", "U0NEW"]
    assert run("facilitator", "remove", "U0NEW") == (0, "U0NEW is no longer a facilitator.\n")

    assert run("facilitator", "remove", "U0BOOT")[0] == 2
    assert "listed in KMBOT_FACILITATORS" in capsys.readouterr().err
    assert run("facilitator", "add", "bob")[0] == 2
    err = capsys.readouterr().err
    assert "“bob” is not a Slack user" in err and "`" not in err
    assert run("facilitator", "add")[0] == 2
    assert "Give the Slack user id" in capsys.readouterr().err

    services = build_container(Settings(database_url=env))
    try:
        with services.session_factory() as session:
            entries = audit.list_entries(session, action="facilitator.")
            assert [(e.actor, e.action, e.target) for e in entries] == [
                ("cli", "facilitator.remove", "U0NEW"),
                ("cli", "facilitator.add", "U0NEW"),
                ("settings", "facilitator.add", "U0BOOT"),
            ]
    finally:
        services.close()


def test_stats_and_export_on_a_known_market(env: str, tmp_path: Path) -> None:
    services = build_container(Settings(database_url=env, intro_threshold=101))
    try:
        build_known_market(services)
    finally:
        services.close()

    code, out = run("stats", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["councils_taking_part"], data["members"], data["regions_at_target"]) == (6, 7, 1)
    assert (data["introductions_made"], data["introductions_confirmed"]) == (5, 3)
    assert data["days_saved_total"] == 42.5
    assert data["days_saved_by_council"][0] == {"council": "Devon County Council", "days": 30.0}
    assert len(data["weekly"]) == 13

    assert data["sessions"] == {"total": 0, "recent": []}

    code, out = run("stats")
    assert code == 0 and "DAYS SAVED: 42.5 in all" in out and "*" not in out
    assert "LIVE MARKETPLACE SESSIONS: 0 in all" in out and "`" not in out

    folder = tmp_path / "export"
    code, out = run("export", "--out", str(folder))
    assert code == 0
    assert f"{folder / 'posts.csv'}: 12 row(s)" in out
    assert f"{folder / 'introductions.csv'}: 5 row(s)" in out
    assert f"{folder / 'outcomes.csv'}: 2 row(s)" in out
    assert f"{folder / 'councils.csv'}: 6 row(s)" in out
    assert f"{folder / 'sessions.csv'}: 0 row(s)" in out
    assert f"{folder / 'outputs.csv'}:" in out
    with (folder / "outcomes.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(float(r["days_saved"]) for r in rows) == [12.5, 30.0]


def test_export_into_a_file_is_refused(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert run("export", "--out", str(target))[0] == 2
    assert "is a file" in capsys.readouterr().err
