/**
 * Reads members of a zip archive (what numpy's savez/savez_compressed write) through a file handle,
 * one member at a time, so archives larger than one Buffer can still be read. Stored (0) and
 * deflated (8) members, zip64 sizes/offsets, CRC-32 checked. Reference: PKWARE APPNOTE.TXT.
 */
import { closeSync, readSync } from "node:fs";
import { openRegularFile } from "../files.js";
import { crc32, inflateRawSync } from "node:zlib";
import { DataFileError, REDOWNLOAD, describeStart } from "./errors.js";

export interface ZipMember {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

export class ZipReader {
  readonly members: ZipMember[];
  private constructor(
    private readonly fd: number,
    readonly file: string,
    private readonly fileSize: number,
  ) {
    this.members = this.readCentralDirectory();
  }

  static open(file: string): ZipReader {
    let fd: number, size: number;
    try {
      ({ fd, size } = openRegularFile(file, Number.MAX_SAFE_INTEGER, "the archive"));
    } catch (e) {
      throw new DataFileError(file, `cannot open (${(e as Error).message.replace(`${file}: `, "")})`, "Check the path and permissions");
    }
    try {
      return new ZipReader(fd, file, size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private fail(problem: string): never {
    throw new DataFileError(this.file, problem, REDOWNLOAD);
  }

  private read(position: number, length: number, what: string): Buffer {
    if (position < 0 || position + length > this.fileSize) {
      this.fail(`truncated: ${what} needs bytes ${position}..${position + length}, the file has ${this.fileSize}`);
    }
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const r = readSync(this.fd, buf, got, length - got, position + got);
      if (r === 0) this.fail(`truncated while reading ${what}`);
      got += r;
    }
    return buf;
  }

  private readCentralDirectory(): ZipMember[] {
    // The end-of-central-directory record is in the last 22 + 65535 (max comment) bytes.
    const tailLen = Math.min(this.fileSize, 22 + 0xffff);
    const tail = this.read(this.fileSize - tailLen, tailLen, "end of file");
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      this.fail(
        `not a zip/.npz archive, or truncated: no end-of-central-directory record (${describeStart(this.read(0, Math.min(8, this.fileSize), "start"))})`,
      );
    }
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdPos = this.fileSize - tailLen + eocd;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = this.read(eocdPos - 20, 20, "zip64 locator");
      if (loc.readUInt32LE(0) !== SIG_ZIP64_LOCATOR) this.fail("zip64 archive without a zip64 end-of-central-directory locator");
      const rec = this.read(Number(loc.readBigUInt64LE(8)), 56, "zip64 end of central directory");
      if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) this.fail("bad zip64 end-of-central-directory record");
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = this.read(cdOffset, cdSize, "central directory");
    const members: ZipMember[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) this.fail(`damaged central directory at entry ${i}`);
      const m: ZipMember = {
        method: cd.readUInt16LE(p + 10),
        crc32: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
        name: "",
      };
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length)
        this.fail(`damaged central directory at entry ${i}: its name and fields run past the directory`);
      m.name = cd.toString("utf8", p + 46, p + 46 + nameLen);
      // zip64 extra field (id 1): the 64-bit values, in this order, for the fields saturated above
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (e + 4 + len > extraEnd) this.fail(`damaged central directory at entry ${i}: an extra field runs past its entry`);
        if (id === 1) {
          let q = e + 4;
          const next = (): number => {
            if (q + 8 > e + 4 + len) this.fail(`damaged zip64 field of entry ${i}`);
            const v = Number(cd.readBigUInt64LE(q));
            q += 8;
            return v;
          };
          if (m.size === 0xffffffff) m.size = next();
          if (m.compressedSize === 0xffffffff) m.compressedSize = next();
          if (m.localHeaderOffset === 0xffffffff) m.localHeaderOffset = next();
        }
        e += 4 + len;
      }
      members.push(m);
      p = extraEnd + commentLen;
    }
    return members;
  }

  /** The uncompressed bytes of a member, CRC-checked. */
  readMember(m: ZipMember): Uint8Array {
    const what = `member "${m.name}"`;
    const local = this.read(m.localHeaderOffset, 30, `local header of ${what}`);
    if (local.readUInt32LE(0) !== SIG_LOCAL) this.fail(`bad local header for ${what}`);
    const dataStart = m.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const raw = this.read(dataStart, m.compressedSize, `data of ${what}`);
    let data: Buffer;
    if (m.method === 0) {
      data = raw;
    } else if (m.method === 8) {
      // Bounded by the declared size (deflate expands at most 1032:1): a bomb or a lying size is an error.
      if (m.size > m.compressedSize * 1032 + 1024)
        this.fail(`${what} declares ${m.size} bytes from ${m.compressedSize} compressed, more than deflate can expand to`);
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, m.size + 1) });
      } catch (e) {
        this.fail(`${what} is damaged (zlib: ${(e as Error).message})`);
      }
    } else {
      throw new DataFileError(
        this.file,
        `${what} uses compression method ${m.method}; only stored (0) and deflate (8) are supported`,
        "Re-save it with numpy.savez or numpy.savez_compressed",
      );
    }
    if (data.length !== m.size) this.fail(`${what} decompressed to ${data.length} bytes, the directory says ${m.size}`);
    if (crc32(data) >>> 0 !== m.crc32) this.fail(`${what} fails its CRC-32 check`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}
