"""The command line: ``vmrsched run | check-config | reserve | meetings | policy-check | demo``.

`main.main` parses the arguments and turns every expected error into a plain message with its
fix and a non-zero exit status (`edge`); the commands themselves are in `commands`, `meetings`
and `demo`.
"""
