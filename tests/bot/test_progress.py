"""The command line's progress bar."""

from __future__ import annotations

import io

from bot.cli.progress import ProgressBar


def test_bar_draws_on_a_terminal_and_finishes_the_line() -> None:
    out = io.StringIO()
    bar = ProgressBar(200, "Importing", stream=out, force=True)
    bar.update(200)
    bar.close()
    assert "Importing [" in out.getvalue() and "100%" in out.getvalue()
    assert "200/200" in out.getvalue() and out.getvalue().endswith("\n")


def test_bar_stays_silent_when_output_is_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(10, "Reading", stream=out)
    bar.update(5)
    bar.close()
    assert out.getvalue() == ""
