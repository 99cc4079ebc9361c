// Signing in: MSAL nested app authentication, and Exchange identity tokens on-premises.

import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { accessToken, resetSignIn, signIn, SignInError, signInKind, signInReason } from "../web/src/auth.js";
import { CONFIG, msal } from "./fakes.js";
import { outlook } from "./outlook.js";

beforeEach(() => resetSignIn());

describe("nested app authentication", () => {
  it("asks MSAL silently for the configured scopes, with the configured app and authority", async () => {
    const fake = msal();
    const token = await accessToken({ office: outlook().office, msal: fake.lib, auth: CONFIG.auth });
    assert.equal(token, "user-access-token");
    assert.deepEqual(fake.seen.created, [
      { auth: { clientId: CONFIG.auth.client_id, authority: CONFIG.auth.authority } },
    ]);
    assert.deepEqual(fake.seen.silent, [{ scopes: CONFIG.auth.scopes }]);
    assert.deepEqual(fake.seen.popup, []);
  });

  it("creates the MSAL application once", async () => {
    const fake = msal();
    const context = { office: outlook().office, msal: fake.lib, auth: CONFIG.auth };
    await accessToken(context);
    await accessToken(context);
    assert.equal(fake.seen.created.length, 1);
  });

  it("falls back to a sign-in popup when the silent call fails", async () => {
    const fake = msal({
      silent: () => {
        throw Object.assign(new Error("interaction_required"), { errorCode: "interaction_required" });
      },
      popup: () => ({ accessToken: "from-popup" }),
    });
    const token = await accessToken({ office: outlook().office, msal: fake.lib, auth: CONFIG.auth });
    assert.equal(token, "from-popup");
    assert.equal(fake.seen.popup.length, 1);
  });

  it("does not open a popup when told not to interact", async () => {
    const fake = msal({ silent: () => ({}), popup: () => ({ accessToken: "x" }) });
    await assert.rejects(
      accessToken({ office: outlook().office, msal: fake.lib, auth: CONFIG.auth, interactive: false }),
      (error) => error instanceof SignInError && /open the VMR pane/.test(error.message),
    );
    assert.equal(fake.seen.popup.length, 0);
  });

  it("says so when MSAL did not load or the settings are incomplete", async () => {
    await assert.rejects(accessToken({ office: outlook().office, msal: undefined, auth: CONFIG.auth }), /MSAL\.js\) did not load/);
    await assert.rejects(
      accessToken({ office: outlook().office, msal: msal().lib, auth: { kind: "naa", client_id: "x", scopes: [] } }),
      /incomplete/,
    );
  });
});

describe("other kinds", () => {
  it("uses the Exchange identity token on-premises", async () => {
    const mock = outlook({ identityToken: "eyJ-exchange" });
    const token = await accessToken({ office: mock.office, msal: undefined, auth: { kind: "exchange_identity" } });
    assert.equal(token, "eyJ-exchange");
  });

  it("says which kind it used, so that an identity token's request can name the organizer", async () => {
    const mock = outlook({ identityToken: "eyJ-exchange" });
    assert.deepEqual(await signIn({ office: mock.office, auth: { kind: "exchange_identity" } }), {
      token: "eyJ-exchange",
      kind: "exchange_identity",
    });
    const naa = await signIn({ office: outlook().office, msal: msal().lib, auth: CONFIG.auth });
    assert.deepEqual(naa, { token: "user-access-token", kind: "naa" });
  });

  it("falls back to the identity token where Outlook has no nested app authentication (hybrid)", async () => {
    const hybrid = { ...CONFIG.auth, fallback: "exchange_identity" };
    assert.equal(signInKind(outlook({ nestedAppAuth: false }).office, hybrid), "exchange_identity");
    assert.equal(signInKind(outlook({ nestedAppAuth: true }).office, hybrid), "naa");
    assert.equal(signInKind(outlook().office, hybrid), "naa"); // cannot tell: NAA says if it is missing
    assert.equal(signInKind(outlook({ nestedAppAuth: false }).office, CONFIG.auth), "naa"); // no fallback set
    const mock = outlook({ nestedAppAuth: false, identityToken: "eyJ-exchange" });
    const used = await signIn({ office: mock.office, msal: msal().lib, auth: hybrid });
    assert.deepEqual(used, { token: "eyJ-exchange", kind: "exchange_identity" });
  });

  it("says plainly when Exchange gives no identity token", async () => {
    const mock = outlook({ fail: { getUserIdentityTokenAsync: "The token could not be retrieved" } });
    await assert.rejects(
      accessToken({ office: mock.office, auth: { kind: "exchange_identity" } }),
      (error) => error instanceof SignInError && /Exchange did not give an identity token: .*The token could not be retrieved/.test(error.message),
    );
  });

  it("refuses an unknown kind", async () => {
    await assert.rejects(accessToken({ office: outlook().office, auth: { kind: "kerberos" } }), /unknown sign-in kind "kerberos"/);
  });
});

describe("sign-in errors", () => {
  it("are told in plain words, keeping MSAL's code", () => {
    const closed = Object.assign(new Error("user_cancelled: User cancelled the flow."), { errorCode: "user_cancelled" });
    assert.equal(signInReason(closed), "the sign-in window was closed before signing in finished (user_cancelled)");
    const consent = Object.assign(new Error("AADSTS65001"), { errorCode: "consent_required" });
    assert.match(signInReason(consent), /ask your administrator \(consent_required\)$/);
  });

  it("fall back to the error's own message for codes without plain words", () => {
    assert.equal(signInReason(Object.assign(new Error("odd failure"), { errorCode: "x_y" })), "odd failure");
    assert.equal(signInReason("text"), "text");
  });

  it("reach the organizer through a failed popup", async () => {
    const fake = msal({
      silent: () => { throw new Error("no_account_error"); },
      popup: () => { throw Object.assign(new Error("user_cancelled: x"), { errorCode: "user_cancelled" }); },
    });
    await assert.rejects(
      accessToken({ office: outlook().office, msal: fake.lib, auth: CONFIG.auth }),
      /signing in failed: the sign-in window was closed before signing in finished \(user_cancelled\)/,
    );
  });
});
