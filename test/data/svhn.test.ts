import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseMatV5 } from "../../lib/data/matv5.js";
import { readSvhnMat, svhnFromMatBytes } from "../../lib/data/svhn.js";
import { matBytes, mi, mx, patternBytes, svhnVars, tempDir, writeFile } from "./fixtures/writers.js";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const n = 5;
const nchw = patternBytes(n * 3072, 11);
const digits = Uint8Array.of(0, 1, 9, 0, 5);

describe("SVHN .mat (MATLAB level 5) reader", () => {
  it.each([
    ["compressed (miCOMPRESSED), y stored as miUINT8", true, mi.UINT8, true],
    ["uncompressed, y stored as miDOUBLE", false, mi.DOUBLE, true],
    ["big-endian, compressed", true, mi.DOUBLE, false],
  ])("reads %s, converting to NCHW and label 10 to 0", (_name, compressed, yStorage, le) => {
    const f = writeFile(join(dir, `svhn-${compressed}-${yStorage}-${le}.mat`), matBytes(svhnVars(nchw, digits, yStorage), { compressed, littleEndian: le }));
    const s = readSvhnMat(f);
    expect([s.n, s.channels, s.height, s.width]).toEqual([n, 3, 32, 32]);
    expect(Array.from(s.labels)).toEqual(Array.from(digits));
    expect(Buffer.from(s.images).equals(Buffer.from(nchw))).toBe(true);
  });

  it("maps one column-major pixel X(h,w,c,i) to images[i][c][h][w]", () => {
    const X = new Uint8Array(2 * 3072);
    X[1 + 32 * 2 + 1024 * 0 + 3072 * 1] = 200; // X(h=1, w=2, c=0, i=1) in 0-based indices
    const vars = [
      { name: "X", classId: mx.UINT8, dims: [32, 32, 3, 2], storage: mi.UINT8, values: X },
      { name: "y", classId: mx.DOUBLE, dims: [2, 1], storage: mi.UINT8, values: [10, 3] },
    ];
    const s = svhnFromMatBytes(matBytes(vars, { compressed: false }), "pix.mat");
    expect(s.images[3072 + 0 * 1024 + 1 * 32 + 2]).toBe(200);
    expect(s.images.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Array.from(s.labels)).toEqual([0, 3]);
  });

  it("parses variable names, classes and dimensions", () => {
    const vars = parseMatV5(
      matBytes([...svhnVars(nchw, digits), { name: "longername", classId: mx.DOUBLE, dims: [1, 2], storage: mi.DOUBLE, values: [1.5, -2] }], {
        compressed: true,
      }),
      "v.mat",
    );
    expect([...vars.keys()]).toEqual(["X", "y", "longername"]);
    expect(vars.get("X")!.className).toBe("uint8");
    expect(vars.get("y")!.dims).toEqual([n, 1]);
    expect(Array.from(vars.get("longername")!.real!)).toEqual([1.5, -2]);
  });

  it("rejects a truncated uncompressed file", () => {
    const bytes = matBytes(svhnVars(nchw, digits), { compressed: false });
    const f = writeFile(join(dir, "trunc.mat"), bytes.subarray(0, 5000));
    expect(() => readSvhnMat(f)).toThrow(/trunc\.mat: truncated: data element at byte 128 declares \d+ bytes, only 4864 are left/);
  });

  it("rejects a truncated compressed file", () => {
    const bytes = matBytes(svhnVars(nchw, digits), { compressed: true });
    const f = writeFile(join(dir, "truncz.mat"), bytes.subarray(0, bytes.length - 300));
    expect(() => readSvhnMat(f)).toThrow(/truncz\.mat: truncated: data element at byte \d+ declares \d+ bytes/);
  });

  it("rejects a damaged compressed stream", () => {
    const bytes = Buffer.from(matBytes(svhnVars(nchw, digits), { compressed: true }));
    bytes.fill(0xab, 140, 200);
    expect(() => svhnFromMatBytes(bytes, "bad.mat")).toThrow(/bad\.mat: compressed variable at byte 128 is damaged or truncated \(zlib:/);
  });

  it("rejects non-.mat files, v7.3 files and files without X/y", () => {
    const f = writeFile(join(dir, "notmat.mat"), patternBytes(300));
    expect(() => readSvhnMat(f)).toThrow(/not a MATLAB level-5 \.mat file: no "IM"\/"MI" endian indicator/);
    const tiny = writeFile(join(dir, "tiny.mat"), patternBytes(50));
    expect(() => readSvhnMat(tiny)).toThrow(/truncated or not a \.mat file: 50 bytes/);
    const v73 = matBytes([], {
      compressed: false,
      headerText: "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 .",
    });
    expect(() => svhnFromMatBytes(v73, "v73.mat")).toThrow(/MATLAB v7\.3 \(HDF5\) file/);
    const other = matBytes([{ name: "digitStruct", classId: mx.DOUBLE, dims: [1, 1], storage: mi.DOUBLE, values: [1] }], { compressed: true });
    expect(() => svhnFromMatBytes(other, "other.mat")).toThrow(/expected numeric variables X and y, found digitStruct/);
  });

  it("rejects labels outside 1..10 and mismatched counts", () => {
    const vars = svhnVars(nchw, digits, mi.DOUBLE);
    vars[1].values = [1, 2, 3, 11, 4];
    expect(() => svhnFromMatBytes(matBytes(vars, { compressed: false }), "y.mat")).toThrow(/label y\(4\) = 11, expected 1\.\.10/);
    vars[1] = { ...vars[1], dims: [4, 1], values: [1, 2, 3, 4] };
    expect(() => svhnFromMatBytes(matBytes(vars, { compressed: false }), "y.mat")).toThrow(/y has 4 labels .* but X has 5 images/);
  });
});
