"""Microsoft Graph v1.0 front-end of exchangesim: `/v1.0/users/{id}/...` over the same mailbox
store as EWS, so EWS and Graph clients see one tenant.

- `endpoint`: the aiohttp routes (`/v1.0/...`, `/v1.0/$batch`), authentication, authorization,
  throttling and Graph's error shape;
- `messages`, `events`, `actions`, `delta`: the resources and functions;
- `render_*`: store items as Graph JSON; `parse_event`: Graph JSON into store fields;
- `ids`: Graph (REST) ids of store items; `odata`: query options and `Prefer` headers.

What is supported and what is not: docs/exchangesim.md ("Microsoft Graph").
"""
