"""/km-admin stats, outputs, export, report, reports and audit."""

from __future__ import annotations

from bot.kernel.errors import InvalidInput
from bot.services.flags import REPORT_ACTION
from bot.slack import admin as admin_messages
from handlers.admin.request import Request


def stats(request: Request, rest: str) -> None:
    """stats: the marketplace in numbers."""
    request.say(request.container.admin.statistics())


def outputs(request: Request, rest: str) -> None:
    """outputs [quarter]: the quarter's outputs, and the chart and CSV in a DM."""
    words = rest.split()
    send = bool(words) and words[-1].lower() in ("chart", "csv", "files")
    if send:
        words = words[:-1]
    admin = request.container.admin
    answer = admin.outputs(" ".join(words), files=send)
    if not answer.files:
        request.say(answer.text)
        return
    request.send_files(answer.files, "The marketplace's outputs: the chart and the CSV.")
    admin.record_outputs_sent(request.user_id, answer)
    request.say(answer.text + "\n\nI've sent you the chart and the CSV in a direct message.")


def export(request: Request, rest: str) -> None:
    """export: the CSV files, uploaded to the facilitator's DM."""
    admin = request.container.admin
    files = admin.export_files()
    request.send_files(
        files,
        "Your marketplace export: posts, introductions, outcomes, councils, live sessions "
        "and each quarter's outputs.",
    )
    admin.record_export_sent(request.user_id, files)
    request.say("I've sent you the CSV files in a direct message.")


def report(request: Request, rest: str) -> None:
    """report: the activity chart, uploaded to the facilitator's DM."""
    admin = request.container.admin
    chart = admin.activity_report()
    request.send_files([chart.file], chart.summary)
    admin.record_report_sent(request.user_id, chart)
    request.say("I've sent you the chart in a direct message.")


def reported(request: Request, rest: str) -> None:
    """reports [how many]: the cards members reported to the facilitators, newest first."""
    limit, words = _how_many(rest.split())
    if words:
        request.say("Say how many reports to show, or nothing: e.g. `/km-admin reports 50`.")
        return
    entries = request.container.admin.audit_entries(limit=limit, actor=None, action=REPORT_ACTION)
    if not entries:
        request.say("No member has reported a card to the facilitators yet.")
        return
    request.say(admin_messages.audit_list(entries))


def audit(request: Request, rest: str) -> None:
    """audit [how many] [@someone | action]"""
    limit, words = _how_many(rest.split())
    who: str | None = None
    action: str | None = None
    if words:
        try:
            who = request.container.admin.parse_user(words[0])
        except InvalidInput:
            action = words[0].lower()
    entries = request.container.admin.audit_entries(limit=limit, actor=who, action=action)
    request.say(admin_messages.audit_list(entries))


def _how_many(words: list[str]) -> tuple[int, list[str]]:
    """A leading "how many" (1 to 100, 20 if not given), and the words after it."""
    if words and words[0].isascii() and words[0].isdigit():
        return max(1, min(int(words[0]), 100)), words[1:]
    return 20, words
