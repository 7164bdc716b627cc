import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { parseIdx, readIdxImages, readIdxLabels } from "../../lib/data/idx.js";
import { gzip, idxBytes, patternBytes, tempDir, writeFile } from "./fixtures/writers.js";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const n = 7;
const pixels = patternBytes(n * 28 * 28, 3);
const labels = Uint8Array.from({ length: n }, (_, i) => (i * 3) % 10);

describe("IDX reader", () => {
  it.each([
    ["gzipped", true],
    ["raw", false],
  ])("reads %s images and labels", (_name, gz) => {
    const ib = idxBytes([n, 28, 28], pixels);
    const lb = idxBytes([n], labels);
    const imgFile = writeFile(join(dir, `img-${gz}`), gz ? gzip(ib) : ib);
    const labFile = writeFile(join(dir, `lab-${gz}`), gz ? gzip(lb) : lb);
    const img = readIdxImages(imgFile);
    expect(img.n).toBe(n);
    expect([img.height, img.width]).toEqual([28, 28]);
    expect(Array.from(img.images)).toEqual(Array.from(pixels));
    expect(Array.from(readIdxLabels(labFile))).toEqual(Array.from(labels));
  });

  it("reads non-square images row-major", () => {
    const data = Uint8Array.from({ length: 2 * 3 * 5 }, (_, i) => i);
    const f = writeFile(join(dir, "rect"), idxBytes([2, 3, 5], data));
    const img = readIdxImages(f);
    expect([img.n, img.height, img.width]).toEqual([2, 3, 5]);
    expect(img.images[1 * 15 + 2 * 5 + 4]).toBe(29);
  });

  it("rejects a truncated raw file, naming the file and the sizes", () => {
    const full = idxBytes([n, 28, 28], pixels);
    const f = writeFile(join(dir, "trunc"), full.subarray(0, full.length - 100));
    expect(() => readIdxImages(f)).toThrow(
      new RegExp(`${f.replace(/[/.]/g, "\\$&")}: truncated: the header says 7x28x28 = 5488 bytes of data \\(5504 bytes in all\\), the file has 5404`),
    );
    expect(() => readIdxImages(f)).toThrow(/download it again/);
  });

  it("rejects a truncated gzip file", () => {
    const z = gzip(idxBytes([n, 28, 28], pixels));
    const f = writeFile(join(dir, "trunc.gz"), z.subarray(0, z.length >> 1));
    expect(() => readIdxImages(f)).toThrow(/gzip stream is damaged or truncated/);
  });

  it("rejects a file cut inside the header", () => {
    const f = writeFile(join(dir, "hdr"), idxBytes([n, 28, 28], pixels).subarray(0, 9));
    expect(() => readIdxImages(f)).toThrow(/truncated IDX header \(9 bytes, the header alone needs 16\)/);
  });

  it("rejects trailing bytes", () => {
    const f = writeFile(join(dir, "long"), Buffer.concat([idxBytes([n], labels), Buffer.from([1, 2])]));
    expect(() => readIdxLabels(f)).toThrow(/2 bytes too many/);
  });

  it("rejects a wrong magic number, and recognises an HTML error page", () => {
    const f = writeFile(join(dir, "magic"), Buffer.from([0x00, 0x01, 0x08, 0x03, 0, 0, 0, 0]));
    expect(() => readIdxImages(f)).toThrow(/not an IDX file: wrong magic number \(starts with 00 01 08 03/);
    const html = writeFile(join(dir, "page.gz"), gzip(Buffer.from("<!DOCTYPE html><html>Access denied</html>")));
    expect(() => readIdxImages(html)).toThrow(/looks like an HTML\/XML page/);
  });

  it("tells images from labels files", () => {
    const img = writeFile(join(dir, "i"), idxBytes([n, 28, 28], pixels));
    const lab = writeFile(join(dir, "l"), idxBytes([n], labels));
    expect(() => readIdxLabels(img)).toThrow(/expected an IDX label file with 1 dimension, found 3/);
    expect(() => readIdxImages(lab)).toThrow(/expected an IDX image file with 3 dimensions/);
  });

  it("rejects non-uint8 element types", () => {
    const b = Buffer.from(idxBytes([1], new Uint8Array(4)));
    b[2] = 0x0c;
    expect(() => parseIdx(b, "x.idx")).toThrow(/element type is int32, only uint8/);
  });

  it("says when the file does not exist", () => {
    expect(() => readIdxImages(join(dir, "nope.gz"))).toThrow(/nope\.gz: the file does not exist/);
  });
});
