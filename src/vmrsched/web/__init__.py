"""The HTTP face of vmrsched (aiohttp).

- `app.build_app`: the application — Pexip Infinity's external policy request
  (``GET /policy/v1/service/configuration``), ``GET /health`` and ``GET /ready``; with
  `addin.add_routes` the Outlook add-in's files, config, manifest and reservation API;
- `server.web_task`: the application served as one of the supervisor's tasks.
"""
