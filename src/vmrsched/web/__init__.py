"""The HTTP face of vmrsched (aiohttp).

- `app.build_app`: the application — Pexip Infinity's external policy request
  (``GET /policy/v1/service/configuration``), ``GET /health`` and ``GET /ready``; the add-in API,
  admin UI and metrics come with later issues;
- `server.web_task`: the application served as one of the supervisor's tasks.
"""
