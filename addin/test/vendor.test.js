// The vendored MSAL.js (served by vmrsched, no CDN) is exactly the pinned npm package's build.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

const here = new URL("../", import.meta.url);
const read = (path) => readFileSync(new URL(path, here));
// Read straight from node_modules: the package's "exports" do not list its browser build.
const fromPackage = (path) => read(`node_modules/@azure/msal-browser/${path}`);

describe("vendored MSAL.js", () => {
  it("is the minified build of the @azure/msal-browser version pinned in package.json", () => {
    const pinned = JSON.parse(read("package.json")).devDependencies["@azure/msal-browser"];
    const installed = JSON.parse(fromPackage("package.json")).version;
    assert.equal(installed, pinned, "run npm ci");
    const vendored = read("web/vendor/msal-browser.min.js");
    const built = fromPackage("lib/msal-browser.min.js");
    assert.ok(vendored.equals(built), "web/vendor/msal-browser.min.js differs: copy lib/msal-browser.min.js again");
    assert.match(vendored.subarray(0, 80).toString(), new RegExp(`@azure/msal-browser v${pinned.replace(/\./g, "\\.")} `));
  });

  it("ships with its licence", () => {
    const licence = read("web/vendor/msal-browser.LICENSE.txt").toString();
    const original = fromPackage("LICENSE").toString();
    assert.equal(licence, original);
    assert.match(licence, /MIT License/);
  });

  it("offers nested app authentication", () => {
    assert.ok(read("web/vendor/msal-browser.min.js").includes("createNestablePublicClientApplication"));
  });
});
