"""The domain: what vmrsched decides, in pure code (no IO, no clock, no vendor words).

- `meetings`: `MeetingMessage` (what arrived in the resource mailbox) and the meeting key.
- `recurrence`: the series pattern model and its expansion into occurrences.
- `bookings`, `reservations`, `aliases`: the records the store keeps, and how aliases are drawn.
- `tokens`: the signed alias token in a meeting's body; `bodies`: HTML to plain text.
- `templates`, `instructions`: reply and joining-instruction templates (sandboxed Jinja2).
- `windows`, `planner`, `actions`: from a message to a `Decision` of actions.
- `policy`: the answer to the video platform's policy request for a dialled alias.

Time is always passed in (``now``) and every datetime is timezone-aware.
"""
