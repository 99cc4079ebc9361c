// The committed icons are valid PNGs of the sizes the manifest names, as the script draws them.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { inflateSync } from "node:zlib";

import { icon } from "../scripts/icons.mjs";

const SIZES = [16, 32, 64, 80, 128];

describe("icons", () => {
  for (const size of SIZES) {
    it(`icon-${size}.png is a ${size}×${size} RGBA PNG equal to what scripts/icons.mjs draws`, () => {
      const png = readFileSync(new URL(`../web/assets/icon-${size}.png`, import.meta.url));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.toString("ascii", 12, 16), "IHDR");
      assert.equal(png.readUInt32BE(16), size);
      assert.equal(png.readUInt32BE(20), size);
      assert.equal(png[25], 6, "colour type RGBA");
      const idatLength = png.readUInt32BE(33);
      const pixels = inflateSync(png.subarray(41, 41 + idatLength));
      assert.equal(pixels.length, size * (1 + size * 4));
      assert.ok(png.equals(icon(size)), "run node scripts/icons.mjs and commit the result");
    });
  }
});
