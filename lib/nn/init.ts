// Weight initialisers, as torch.nn.init: each fills a tensor in place without autograd and returns it.
// Random draws use LibTorch's global generator, so torch.manualSeed makes them reproducible.
import { Tensor, tensorOp, tidy } from "../tensor/tensor.js";
import { noGrad } from "../tensor/autograd.js";
import { randn } from "../tensor/creation.js";
import { qr } from "../tensor/linalg.js";

/** Runs an in-place fill without autograd and frees its temporaries. */
function fill(t: Tensor, fn: () => void): Tensor {
  tidy(() => noGrad(fn));
  return t;
}

/** Inputs per output unit: in_features for Linear [out, in], in_channels*kh*kw for Conv [out, in, kh, kw]. */
export function fanIn(t: Tensor): number {
  if (t.ndim < 2) throw new Error(`fanIn: needs a tensor of at least 2 dims, got shape [${t.shape}]`);
  return t.shape.slice(1).reduce((a, b) => a * b, 1);
}
/** Outputs per input unit: out_features, or out_channels*kh*kw. */
export function fanOut(t: Tensor): number {
  if (t.ndim < 2) throw new Error(`fanOut: needs a tensor of at least 2 dims, got shape [${t.shape}]`);
  return t.shape[0]! * t.shape.slice(2).reduce((a, b) => a * b, 1);
}

export const zeros_ = (t: Tensor): Tensor => fill(t, () => t.zero_());
export const ones_ = (t: Tensor): Tensor => fill(t, () => t.fill_(1));
export const constant_ = (t: Tensor, v: number): Tensor => fill(t, () => t.fill_(v));
export const normal_ = (t: Tensor, mean = 0, std = 0.02): Tensor => fill(t, () => t.normal_(mean, std));
export const uniform_ = (t: Tensor, from = 0, to = 1): Tensor => fill(t, () => t.uniform_(from, to));

const erfinv_ = tensorOp("aten::erfinv_");
const ERF_SQRT2 = 0.9544997361036416; // erf(2/√2) = P(|z| < 2) for a standard normal z

/**
 * Normal(mean, std) truncated to mean ± 2 std, as TensorFlow's truncated_normal (std is that of the
 * untruncated normal). The paper initialises with std = sqrt(1/fan_in). Rather than redrawing the values
 * outside the bounds round after round, it draws the same distribution in one pass by the inverse CDF
 * (as torch.nn.init.trunc_normal_): u ~ U(-erf(√2), erf(√2)), x = mean + std·√2·erfinv(u).
 */
export function truncatedNormal_(t: Tensor, std: number, mean = 0): Tensor {
  return fill(t, () => {
    erfinv_(t.uniform_(-ERF_SQRT2, ERF_SQRT2));
    t.mul_(std * Math.SQRT2)
      .add_(mean)
      .clamp_(mean - 2 * std, mean + 2 * std);
  });
}

export type FanMode = "fan_in" | "fan_out" | "fan_avg";
const fan = (t: Tensor, mode: FanMode) => (mode === "fan_in" ? fanIn(t) : mode === "fan_out" ? fanOut(t) : (fanIn(t) + fanOut(t)) / 2);

/** Uniform(-l, l) with variance scale/fan, i.e. l = sqrt(3*scale/fan) (TensorFlow's variance_scaling, uniform). */
export function varianceScalingUniform_(t: Tensor, scale = 1, mode: FanMode = "fan_in"): Tensor {
  const limit = Math.sqrt((3 * scale) / fan(t, mode));
  return uniform_(t, -limit, limit);
}

/**
 * He uniform, as torch.nn.init.kaiming_uniform_: bound = gain*sqrt(3/fan_in), gain = sqrt(2/(1+a²)).
 * a = sqrt(5) (the default) is what PyTorch's Linear and Conv use: bound = 1/sqrt(fan_in).
 */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5), mode: FanMode = "fan_in"): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fan(t, mode));
  return uniform_(t, -bound, bound);
}

/** A (semi-)orthogonal matrix from the QR of a normal draw, signs fixed so it is uniformly distributed. */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  if (t.ndim < 2) throw new Error(`orthogonal_: needs at least 2 dims, got shape [${t.shape}]`);
  const rows = t.shape[0]!;
  const cols = t.numel / rows;
  return fill(t, () => {
    const a = randn(rows < cols ? [cols, rows] : [rows, cols], { dtype: "float64", device: t.device });
    const { Q, R } = qr(a);
    let q = Q.mul(R.diagonal().sign());
    if (rows < cols) q = q.t();
    t.copy_(q.mul(gain).reshape(t.shape));
  });
}
