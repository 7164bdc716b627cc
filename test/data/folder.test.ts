import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { afterAll, describe, expect, it } from "vitest";
import { readImageFolder } from "../../lib/data/folder.js";
import { patternBytes, tempDir, writeFile } from "./fixtures/writers.js";

const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Encodes RGBA pixels made from an NCHW image (1 or 3 channels). */
function rgbaOf(img: Uint8Array, channels: number, h: number, w: number): Buffer {
  const rgba = Buffer.alloc(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = img[(channels === 1 ? 0 : c) * h * w + p];
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

function writePng(file: string, img: Uint8Array, channels: number, h: number, w: number): void {
  const png = new PNG({ width: w, height: h });
  png.data = rgbaOf(img, channels, h, w);
  writeFile(file, PNG.sync.write(png));
}

describe("image folder reader", () => {
  it("reads RGB PNGs in name order as NCHW", () => {
    const dir = join(root, "rgb");
    const imgs = [0, 1, 2].map((k) => patternBytes(3 * 8 * 6, k + 1));
    // written out of order, with a non-image file next to them
    writePng(join(dir, "img_2.png"), imgs[2], 3, 8, 6);
    writePng(join(dir, "img_0.png"), imgs[0], 3, 8, 6);
    writePng(join(dir, "img_1.PNG"), imgs[1], 3, 8, 6);
    writeFileSync(join(dir, "notes.txt"), "not an image");
    const d = readImageFolder(dir);
    expect([d.n, d.channels, d.height, d.width]).toEqual([3, 3, 8, 6]);
    expect(d.files.map((f) => f.slice(dir.length + 1))).toEqual(["img_0.png", "img_1.PNG", "img_2.png"]);
    // PNG is lossless: exact pixels, in name order
    expect(Buffer.from(d.images).equals(Buffer.concat(imgs))).toBe(true);
  });

  it("reads gray images as one channel, or three when asked", () => {
    const dir = join(root, "gray");
    const imgs = [0, 1].map((k) => patternBytes(5 * 5, 10 + k));
    imgs.forEach((img, k) => writePng(join(dir, `g${k}.png`), img, 1, 5, 5));
    const d = readImageFolder(dir);
    expect(d.channels).toBe(1);
    expect(Buffer.from(d.images).equals(Buffer.concat(imgs))).toBe(true);
    const d3 = readImageFolder(dir, { channels: 3 });
    expect(d3.channels).toBe(3);
    expect(Array.from(d3.images.subarray(25, 50))).toEqual(Array.from(imgs[0]));
  });

  it("reads JPEG files (lossy: close to the encoded pixels)", () => {
    const dir = join(root, "jpeg");
    const h = 16;
    const w = 16;
    const img = new Uint8Array(3 * h * w);
    for (let p = 0; p < h * w; p++) {
      img[p] = 200;
      img[h * w + p] = 100;
      img[2 * h * w + p] = 30;
    }
    writeFile(join(dir, "a.jpg"), jpeg.encode({ width: w, height: h, data: rgbaOf(img, 3, h, w) }, 95).data);
    const d = readImageFolder(dir);
    expect([d.n, d.channels, d.height, d.width]).toEqual([1, 3, h, w]);
    for (let i = 0; i < img.length; i++) expect(Math.abs(d.images[i] - img[i])).toBeLessThanOrEqual(6);
  });

  it("rejects images of different sizes, naming both files", () => {
    const dir = join(root, "mixed");
    writePng(join(dir, "a.png"), patternBytes(3 * 4 * 4), 3, 4, 4);
    writePng(join(dir, "b.png"), patternBytes(3 * 4 * 5), 3, 4, 5);
    expect(() => readImageFolder(dir)).toThrow(/b\.png: is 5x4, but .*a\.png is 4x4; all images must have the same size/);
  });

  it("rejects an empty folder, a missing folder and a damaged image", () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    expect(() => readImageFolder(empty)).toThrow(/holds no \.png\/\.jpg\/\.jpeg files/);
    expect(() => readImageFolder(join(root, "missing"))).toThrow(/cannot list the folder/);
    const bad = join(root, "bad");
    writePng(join(bad, "a.png"), patternBytes(3 * 4 * 4), 3, 4, 4);
    const full = PNG.sync.write(Object.assign(new PNG({ width: 4, height: 4 }), { data: Buffer.alloc(64, 7) }));
    writeFile(join(bad, "b.png"), full.subarray(0, 40));
    expect(() => readImageFolder(bad)).toThrow(/b\.png: cannot decode the image/);
    writeFile(join(bad, "c.jpg"), Buffer.from("GIF89a not really"));
    writeFile(join(bad, "b.png"), full);
    expect(() => readImageFolder(bad)).toThrow(/c\.jpg: is neither a PNG nor a JPEG/);
  });
});
