"""The admin's setup, generated: a PowerShell script or a portal checklist (pure: no IO).

`render_script` makes a commented, idempotent script that creates the resource mailbox, its
calendar processing, hidden free/busy, the app registration with a client secret, the scheduling
group, the management scope and the scoped role, and prints the configuration lines to paste;
`render_checklist` lists the same steps by hand. Values come in as `SetupValues`, checked and
quoted so that no name can break out of its string (`quoting`).
"""

from vmrsched.service.setup.quoting import UnsafeValueError, ps_string
from vmrsched.service.setup.render import render_checklist, render_script, setup_steps
from vmrsched.service.setup.values import Api, SetupValueError, SetupValues, Target

__all__ = [
    "Api",
    "SetupValueError",
    "SetupValues",
    "Target",
    "UnsafeValueError",
    "ps_string",
    "render_checklist",
    "render_script",
    "setup_steps",
]
