// Calls to the vmrsched service.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fetchConfig, reservationsUrl, reserveVmr, ServiceError } from "../web/src/service.js";
import { CONFIG_URL, json, service } from "./fakes.js";

describe("service calls", () => {
  it("build the reservations URL under api_base, with or without a path or slash", () => {
    assert.equal(reservationsUrl("https://vmr.contoso.com/", CONFIG_URL), "https://vmr.contoso.com/api/v1/reservations");
    assert.equal(reservationsUrl("https://contoso.com/vmr", CONFIG_URL), "https://contoso.com/vmr/api/v1/reservations");
    assert.equal(reservationsUrl("", CONFIG_URL), "https://vmr.contoso.com/api/v1/reservations");
  });

  it("take a config.json that is not JSON as unreachable", async () => {
    const fetchFn = async () => new Response("<html>proxy error</html>", { status: 200 });
    await assert.rejects(fetchConfig(fetchFn, CONFIG_URL), (e) => e instanceof ServiceError && e.kind === "unreachable");
  });

  it("carry the error code and status of a refusal", async () => {
    const fake = service({ reserve: json(429, { error: "rate_limited", message: "Slow down." }, { "Retry-After": "30" }) });
    await assert.rejects(reserveVmr(fake.fetch, "https://x/api/v1/reservations", "t", {}), (e) => {
      assert.equal(e.kind, "refused");
      assert.equal(e.code, "rate_limited");
      assert.equal(e.status, 429);
      assert.equal(e.message, "Slow down.");
      return true;
    });
  });

  it("name the HTTP status when a refusal has no JSON message", async () => {
    const fetchFn = async () => new Response("nope", { status: 418 });
    await assert.rejects(reserveVmr(fetchFn, "https://x/", "t", {}), /answered HTTP 418/);
  });
});
