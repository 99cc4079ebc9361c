"""The service: thin code that acts on what the domain decides.

- `sync`: one pass over the resource mailbox — fetch changes from the stored cursor, plan each
  message, record the decision with its effects (and the booking it leads to) before anything is
  sent, then advance the cursor.
- `apply`: perform the recorded effects (replies, instructions written as the organizer), each
  idempotent by its key, retried with backoff, every attempt recorded.
- `watch`: the endless loop around one pass: wake on push or the poll interval, stop on purpose.
- `supervisor`: runs the watcher and its side tasks; a dead side task stops the process loudly.
- `reserve`: reservations for the add-in and the CLI.

The service talks to the outside only through the ports (`vmrsched.ports`); `vmrsched.bootstrap`
picks the implementations.
"""
