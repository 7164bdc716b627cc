/**
 * SVHN cropped digits (train_32x32.mat, test_32x32.mat): variable X is uint8 [32,32,3,N] and y is
 * [N,1] with labels 1..10 where 10 stands for the digit 0. MATLAB stores arrays column-major, so
 * X(h,w,c,i) is at h + 32*w + 1024*c + 3072*i; we reorder to NCHW row-major.
 */
import { DataFileError, REDOWNLOAD } from "./errors.js";
import { parseMatV5 } from "./matv5.js";
import { readDataFile } from "./read-file.js";

export interface SvhnImages {
  images: Uint8Array; // NCHW
  labels: Uint8Array; // 0..9, the digit
  n: number;
  channels: number;
  height: number;
  width: number;
}

export function svhnFromMatBytes(bytes: Uint8Array, file: string): SvhnImages {
  const vars = parseMatV5(bytes, file);
  const X = vars.get("X");
  const y = vars.get("y");
  const names = [...vars.keys()].join(", ") || "none";
  if (!X?.real || !y?.real) {
    throw new DataFileError(
      file,
      `expected numeric variables X and y, found ${names}`,
      'Use the official SVHN "cropped digits" files train_32x32.mat / test_32x32.mat (not the full-numbers digitStruct.mat)',
    );
  }
  if (X.dims.length !== 4 || (X.dims[2] !== 3 && X.dims[2] !== 1)) {
    throw new DataFileError(file, `X has dimensions ${X.dims.join("x")}, expected H x W x 3 x N (e.g. 32x32x3xN)`, REDOWNLOAD);
  }
  const [H, W, C, N] = X.dims;
  if (y.real.length !== N) {
    throw new DataFileError(file, `y has ${y.real.length} labels (dims ${y.dims.join("x")}) but X has ${N} images`, REDOWNLOAD);
  }
  const labels = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const v = y.real[i];
    if (!Number.isInteger(v) || v < 0 || v > 10) throw new DataFileError(file, `label y(${i + 1}) = ${v}, expected 1..10`, REDOWNLOAD);
    labels[i] = v === 10 ? 0 : v;
  }
  const src = X.real;
  if (!(src instanceof Uint8Array)) {
    // X saved as another class (e.g. double): accept exact byte values only
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (!Number.isInteger(v) || v < 0 || v > 255)
        throw new DataFileError(file, `X holds the value ${v} (class ${X.className}), expected integers 0..255`, REDOWNLOAD);
    }
  }
  const plane = H * W;
  const images = new Uint8Array(N * C * plane);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < C; c++) {
      const base = (i * C + c) * plane; // same offset in both layouts; only the plane is transposed
      for (let w = 0; w < W; w++) {
        const col = base + w * H;
        for (let h = 0; h < H; h++) images[base + h * W + w] = src[col + h];
      }
    }
  }
  return { images, labels, n: N, channels: C, height: H, width: W };
}

export function readSvhnMat(file: string): SvhnImages {
  return svhnFromMatBytes(readDataFile(file), file);
}
