// Glow's invertible 1x1 convolution: y = W x at every pixel, log|det| = H*W*log|det W|.
// InvertibleConv1x1 learns W directly (log-det by slogdet, in float64 for stability, as Glow's code);
// InvertibleConv1x1LU learns W = P L (U + diag(sign(s) exp(log|s|))) with P fixed, so log|det W| = sum(log|s|).
// Both start from a random rotation: the Q of the QR decomposition of a Gaussian matrix.
import { Tensor, tidy } from "../../tensor/tensor.js";
import { eye, ones, randn, type TensorOptions } from "../../tensor/creation.js";
import { conv2d } from "../../tensor/functional.js";
import { inv, lu, qr, slogdet } from "../../tensor/linalg.js";
import { Module } from "../../nn/module.js";
import { type FlowLayer } from "./flow-layer.js";

export type InvertibleConvOptions = Pick<TensorOptions, "dtype" | "device">;

/** A random orthogonal C×C matrix in float64 (QR of randn). */
function randomRotation(c: number, device: TensorOptions["device"]): Tensor {
  return tidy(() => qr(randn([c, c], { dtype: "float64", device })).Q);
}

/** The 1x1 convolution y = W x and its per-example log-det; shared by both parameterisations. */
abstract class InvertibleConv1x1Base extends Module implements FlowLayer {
  constructor(readonly numChannels: number) {
    super();
  }
  /** The effective C×C matrix W (a parameter or a fresh tensor: use it inside tidy, do not dispose). */
  abstract weight(): Tensor;
  /** log|det W| as a 0-d tensor. */
  protected abstract logAbsDet(): Tensor;

  forward(x: Tensor): [Tensor, Tensor] {
    this.check(x);
    return tidy(() => {
      const w = this.weight();
      const y = conv2d(x, w.view(this.numChannels, this.numChannels, 1, 1));
      return [y, this.pixelLogdet(x)];
    });
  }

  inverse(y: Tensor): [Tensor, Tensor] {
    this.check(y);
    return tidy(() => {
      const w = this.weight();
      const wInv = inv(w.double()).to(w.dtype);
      const x = conv2d(y, wInv.view(this.numChannels, this.numChannels, 1, 1));
      return [x, this.pixelLogdet(y).neg()];
    });
  }

  private pixelLogdet(x: Tensor): Tensor {
    const [n, , h, w] = x.shape as [number, number, number, number];
    return this.logAbsDet()
      .to(x.dtype)
      .mul(h * w)
      .expand([n]); // a view: callers add it out of place
  }

  private check(x: Tensor): void {
    if (x.ndim !== 4 || x.shape[1] !== this.numChannels)
      throw new Error(`${this.constructor.name}(${this.numChannels}): expected input (N, ${this.numChannels}, H, W), got shape [${x.shape}]`);
  }
}

/** W learned directly; log|det W| by slogdet. */
export class InvertibleConv1x1 extends InvertibleConv1x1Base {
  constructor(numChannels: number, o: InvertibleConvOptions = {}) {
    super(numChannels);
    this.param(
      "weight",
      tidy(() => randomRotation(numChannels, o.device).to(o.dtype ?? "float32")),
    );
  }
  weight(): Tensor {
    return this.getParameter("weight");
  }
  protected logAbsDet(): Tensor {
    return slogdet(this.weight().double()).logabsdet;
  }
}

/** W = P L (U + diag(sign_s * exp(log_s))): L unit lower-triangular, U strictly upper, P and sign_s fixed. */
export class InvertibleConv1x1LU extends InvertibleConv1x1Base {
  constructor(numChannels: number, o: InvertibleConvOptions = {}) {
    super(numChannels);
    const dtype = o.dtype ?? "float32";
    const f = { dtype, device: o.device };
    tidy(() => {
      const { P, L, U } = lu(randomRotation(numChannels, o.device));
      const s = U.diagonal();
      this.buffer("perm", P.to(dtype));
      this.buffer("sign_s", s.sign().to(dtype));
      this.param("lower", L.tril(-1).to(dtype));
      this.param("upper", U.triu(1).to(dtype));
      this.param("log_s", s.abs().log().to(dtype));
      // Constants rebuilt by the constructor, so not saved.
      this.buffer("lower_mask", ones([numChannels, numChannels], f).tril(-1), { persistent: false });
      this.buffer("eye", eye(numChannels, numChannels, f), { persistent: false });
    });
  }
  weight(): Tensor {
    return tidy(() => {
      const mask = this.getBuffer("lower_mask");
      const l = this.getParameter("lower").mul(mask).add(this.getBuffer("eye"));
      const u = this.getParameter("upper")
        .mul(mask.t())
        .add(this.getBuffer("sign_s").mul(this.getParameter("log_s").exp()).diag());
      return this.getBuffer("perm").matmul(l).matmul(u);
    });
  }
  protected logAbsDet(): Tensor {
    return this.getParameter("log_s").sum();
  }
}
