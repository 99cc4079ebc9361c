// Draws the add-in's icons (a white video camera on a blue rounded square) as PNG files:
// web/assets/icon-{16,32,64,80,128}.png. Run `node scripts/icons.mjs` after changing the design;
// the PNGs are committed, so nothing is drawn at run time. No dependency: zlib and a CRC-32.

import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const SIZES = [16, 32, 64, 80, 128];
const BLUE = [0, 99, 177]; // #0063B1: Office's accent blue, readable under a white glyph
const WHITE = [255, 255, 255];
const SAMPLES = 4; // 4×4 samples a pixel: smooth edges at 16 px

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Which colour the point (x, y) in the unit square has: null (transparent), BLUE or WHITE. */
function colourAt(x, y) {
  const r = 0.2; // corner radius of the background square
  const cx = Math.min(Math.max(x, r), 1 - r);
  const cy = Math.min(Math.max(y, r), 1 - r);
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) {
    return null;
  }
  // The camera body: a rounded rectangle; the lens: a triangle to its right.
  const bx0 = 0.17, bx1 = 0.62, by0 = 0.31, by1 = 0.69, br = 0.07;
  const qx = Math.min(Math.max(x, bx0 + br), bx1 - br);
  const qy = Math.min(Math.max(y, by0 + br), by1 - br);
  const inBody = x >= bx0 && x <= bx1 && y >= by0 && y <= by1 && (x - qx) ** 2 + (y - qy) ** 2 <= br * br;
  const tx0 = 0.66, tx1 = 0.84;
  const spread = 0.07 + ((x - tx0) / (tx1 - tx0)) * 0.13; // widens to the right
  const inLens = x >= tx0 && x <= tx1 && Math.abs(y - 0.5) <= spread;
  return inBody || inLens ? WHITE : BLUE;
}

export function icon(size) {
  const rows = [];
  for (let py = 0; py < size; py += 1) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let px = 0; px < size; px += 1) {
      let red = 0, green = 0, blue = 0, alpha = 0;
      for (let sy = 0; sy < SAMPLES; sy += 1) {
        for (let sx = 0; sx < SAMPLES; sx += 1) {
          const colour = colourAt((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size);
          if (colour) {
            red += colour[0];
            green += colour[1];
            blue += colour[2];
            alpha += 1;
          }
        }
      }
      const at = 1 + px * 4;
      if (alpha > 0) {
        row[at] = Math.round(red / alpha);
        row[at + 1] = Math.round(green / alpha);
        row[at + 2] = Math.round(blue / alpha);
        row[at + 3] = Math.round((alpha / (SAMPLES * SAMPLES)) * 255);
      }
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const size of SIZES) {
    const path = new URL(`../web/assets/icon-${size}.png`, import.meta.url);
    writeFileSync(path, icon(size));
    console.log(`wrote ${path.pathname}`);
  }
}
