"""Slack identifiers shared by the Block Kit builders and the handlers that answer them."""

from __future__ import annotations

# Slash commands
CMD_WANT = "/want"
CMD_OFFER = "/offer"
CMD_KM = "/km"
CMD_ADMIN = "/km-admin"

# Buttons and selects
ACT_INTRO_USEFUL = "intro_useful"
ACT_INTRO_NOT_FIT = "intro_not_fit"
ACT_CAN_HELP = "card_can_help"
ACT_INTERESTED = "card_interested"
ACT_CLOSE_POST = "post_close"
ACT_FULFILLED = "post_fulfilled"
ACT_WITHDRAW = "post_withdraw"
ACT_STILL_NEEDED = "post_still_needed"
ACT_OPEN_POST_MODAL = "home_new_post"
ACT_NUDGE_HELP = "nudge_offer_help"
ACT_COUNCIL_PICK = "council_pick"

# Modals
VIEW_POST = "post_modal"
VIEW_JOIN = "join_modal"
VIEW_OUTCOME = "outcome_modal"

# Block and action ids inside modals
BLK_TEXT, ACT_TEXT = "text_block", "text"
BLK_AREA, ACT_AREA = "area_block", "area"
BLK_PURPOSE, ACT_PURPOSE = "purpose_block", "purpose"
BLK_LINK, ACT_LINK = "link_block", "link"
BLK_COUNCIL, ACT_COUNCIL = "council_block", ACT_COUNCIL_PICK
BLK_COUNCIL_NEW, ACT_COUNCIL_NEW = "council_new_block", "council_new"
BLK_ROLE, ACT_ROLE = "role_block", "role"
BLK_DAYS, ACT_DAYS = "days_block", "days"
BLK_NOTE, ACT_NOTE = "note_block", "note"

# ---- Shortcuts, editing a post and browsing in App Home ----
# Shortcuts (manifest.yaml's features.shortcuts names these callback ids)
SC_POST_FROM_MESSAGE = "post_from_message"
SC_POST_GLOBAL = "post_want_or_offer"
SC_REPORT = "report_to_facilitators"
# Buttons and selects
ACT_EDIT_POST = "post_edit"
ACT_BROWSE_KIND = "browse_kind"
ACT_BROWSE_AREA = "browse_area"
ACT_BROWSE_PURPOSE = "browse_purpose"
ACT_BROWSE_REGION = "browse_region"
ACT_BROWSE_WHEN = "browse_when"
ACT_BROWSE_PAGE = "browse_page"
ACT_BROWSE_HELP = "browse_help"
# Modals
VIEW_EDIT = "edit_post_modal"
VIEW_REPORT = "report_modal"
# Block and action ids inside modals
BLK_KIND, ACT_KIND = "kind_block", "kind"
BLK_REPORT_NOTE, ACT_REPORT_NOTE = "report_note_block", "report_note"
BLK_SHARE_NOTE, ACT_SHARE_NOTE = "share_note_block", "share_note"  # the outcome modal

# Follow-ups, welcome and away
ACT_INTRO_STILL_TALKING = "intro_still_talking"
ACT_AWAY_OPEN = "home_away"
ACT_BACK = "home_back"
VIEW_AWAY = "away_modal"
BLK_AWAY_DATE, ACT_AWAY_DATE = "away_date_block", "away_date"
