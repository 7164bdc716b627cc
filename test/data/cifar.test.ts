import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCifarBatch, readCifarBatches, readCifarFromTarGz } from "../../lib/data/cifar.js";
import { readTarMembers } from "../../lib/data/tar.js";
import { cifarBytes, gzip, patternBytes, tarBytes, tempDir, writeFile } from "./fixtures/writers.js";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batch(n: number, seed: number, classes = 10) {
  return { images: patternBytes(n * 3072, seed), labels: Uint8Array.from({ length: n }, (_, i) => (i + seed) % classes) };
}

describe("CIFAR binary reader", () => {
  it("reads CIFAR-10 batches in order, keeping the CHW planes", () => {
    const a = batch(4, 1);
    const b = batch(3, 2);
    const fa = writeFile(join(dir, "b1.bin"), cifarBytes(a.images, a.labels));
    const fb = writeFile(join(dir, "b2.bin"), cifarBytes(b.images, b.labels));
    const c = readCifarBatches([fa, fb], "cifar10");
    expect(c.n).toBe(7);
    expect(Array.from(c.labels)).toEqual([...a.labels, ...b.labels]);
    expect(Array.from(c.images.subarray(0, 4 * 3072))).toEqual(Array.from(a.images));
    expect(Array.from(c.images.subarray(4 * 3072))).toEqual(Array.from(b.images));
  });

  it("reads the CIFAR-10 record layout byte by byte", () => {
    const rec = new Uint8Array(3073);
    rec[0] = 6; // label
    rec[1] = 11; // red (0,0)
    rec[1 + 1024 + 32 + 1] = 22; // green (1,1)
    rec[3072] = 33; // blue (31,31)
    const c = parseCifarBatch(rec, "r.bin", "cifar10");
    expect(c.labels[0]).toBe(6);
    expect([c.images[0], c.images[1024 + 33], c.images[3071]]).toEqual([11, 22, 33]);
  });

  it("reads CIFAR-100 coarse and fine labels", () => {
    const a = batch(5, 3, 100);
    const coarse = Uint8Array.from(a.labels, (l) => l % 20);
    const f = writeFile(join(dir, "train.bin"), cifarBytes(a.images, a.labels, coarse));
    const c = readCifarBatches([f], "cifar100");
    expect(Array.from(c.labels)).toEqual(Array.from(a.labels));
    expect(Array.from(c.coarseLabels!)).toEqual(Array.from(coarse));
    expect(Array.from(c.images)).toEqual(Array.from(a.images));
  });

  it("reads members straight from the official .tar.gz layout", () => {
    const parts = [1, 2, 3, 4, 5].map((k) => batch(2, k));
    const test = batch(3, 9);
    const tar = tarBytes([
      { name: "cifar-10-batches-bin/", type: "5" },
      { name: "cifar-10-batches-bin/batches.meta.txt", data: Buffer.from("airplane\nautomobile\n") },
      ...parts.map((p, i) => ({ name: `cifar-10-batches-bin/data_batch_${i + 1}.bin`, data: cifarBytes(p.images, p.labels) })),
      { name: "cifar-10-batches-bin/test_batch.bin", data: cifarBytes(test.images, test.labels) },
    ]);
    const archive = writeFile(join(dir, "cifar-10-binary.tar.gz"), gzip(tar));
    const train = readCifarFromTarGz(
      archive,
      [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`),
      "cifar10",
    );
    expect(train.n).toBe(10);
    expect(Array.from(train.labels)).toEqual(parts.flatMap((p) => [...p.labels]));
    expect(Array.from(train.images.subarray(8 * 3072))).toEqual(Array.from(parts[4].images));
    const t = readCifarFromTarGz(archive, ["test_batch.bin"], "cifar10");
    expect(Array.from(t.images)).toEqual(Array.from(test.images));
    const members = readTarMembers(archive, () => true);
    expect([...members.keys()]).toContain("cifar-10-batches-bin/batches.meta.txt");
    expect(Buffer.from(members.get("cifar-10-batches-bin/batches.meta.txt")!).toString()).toBe("airplane\nautomobile\n");
  });

  it("rejects a truncated batch file, naming the record size", () => {
    const a = batch(2, 4);
    const f = writeFile(join(dir, "short.bin"), cifarBytes(a.images, a.labels).subarray(0, 5000));
    expect(() => readCifarBatches([f], "cifar10")).toThrow(
      /short\.bin: wrong size for a cifar10 binary batch: 5000 bytes is not a whole number of 3073-byte records/,
    );
  });

  it("rejects a CIFAR-100 file read as CIFAR-10", () => {
    const a = batch(3073, 5, 100);
    const f = writeFile(
      join(dir, "c100.bin"),
      cifarBytes(
        a.images,
        a.labels,
        Uint8Array.from(a.labels, (l) => l % 20),
      ),
    );
    expect(() => readCifarBatches([f], "cifar10")).toThrow(/out of range for cifar10|not a whole number/);
  });

  it("rejects out-of-range labels", () => {
    const a = batch(1, 6);
    const bytes = cifarBytes(a.images, Uint8Array.of(42));
    expect(() => parseCifarBatch(bytes, "x.bin", "cifar10")).toThrow(/record 0 has label 42, out of range for cifar10/);
  });

  it("rejects a truncated archive and an archive without the members", () => {
    const a = batch(2, 7);
    const tar = tarBytes([{ name: "cifar-10-batches-bin/test_batch.bin", data: cifarBytes(a.images, a.labels) }]);
    const cut = writeFile(join(dir, "cut.tar"), tar.subarray(0, 3000));
    expect(() => readCifarFromTarGz(cut, ["test_batch.bin"], "cifar10")).toThrow(
      /truncated tar archive: member "cifar-10-batches-bin\/test_batch.bin" needs 6146 bytes/,
    );
    const cutGz = writeFile(join(dir, "cut.tar.gz"), gzip(tar).subarray(0, 200));
    expect(() => readCifarFromTarGz(cutGz, ["test_batch.bin"], "cifar10")).toThrow(/gzip stream is damaged or truncated/);
    const other = writeFile(join(dir, "other.tar.gz"), gzip(tar));
    expect(() => readCifarFromTarGz(other, ["data_batch_1.bin"], "cifar10")).toThrow(/the archive has no member named data_batch_1\.bin/);
    const notTar = writeFile(join(dir, "nottar.tar.gz"), gzip(patternBytes(2048)));
    expect(() => readCifarFromTarGz(notTar, ["test_batch.bin"], "cifar10")).toThrow(/not a tar archive or damaged/);
  });
});
