"""The live end-to-end fixtures (`api`, `server`, `live_factory`, `live`, defined once in
test_end_to_end) for every end-to-end suite of this folder, found by name; a suite that needs a
differently set up simulator overrides `server` in its own module."""

from test_end_to_end import api, live, live_factory, server  # noqa: F401 - fixtures, by name
