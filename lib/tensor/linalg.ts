// torch.linalg: what flows need for their 1x1 convolutions (slogdet, LU) and a few more.
import { Tensor, tensorOp, tensorsOp } from "./tensor.js";

const L = {
  slogdet: tensorsOp("aten::linalg_slogdet"),
  qr: tensorsOp("aten::linalg_qr"),
  luFactor: tensorsOp("aten::linalg_lu_factor"),
  luUnpack: tensorsOp("aten::lu_unpack"),
  lu: tensorsOp("aten::linalg_lu"),
  det: tensorOp("aten::linalg_det"),
  inv: tensorOp("aten::linalg_inv"),
  solve: tensorOp("aten::linalg_solve"),
  eigvalsh: tensorOp("aten::linalg_eigvalsh"),
};

/** {sign, logabsdet} of a (batch of) square matrices. */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  const [sign, logabsdet] = L.slogdet(a) as [Tensor, Tensor];
  return { sign, logabsdet };
}
export function qr(a: Tensor, mode: "reduced" | "complete" | "r" = "reduced"): { Q: Tensor; R: Tensor } {
  const [Q, R] = L.qr(a, mode) as [Tensor, Tensor];
  return { Q, R };
}
/** LU factorisation with partial pivoting, compact form: {LU, pivots} (1-based pivots, as LAPACK). */
export function luFactor(a: Tensor): { LU: Tensor; pivots: Tensor } {
  const [LU, pivots] = L.luFactor(a, true) as [Tensor, Tensor];
  return { LU, pivots };
}
/** Unpacks luFactor's result into A = P L U. */
export function luUnpack(LU: Tensor, pivots: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const [P, Lo, U] = L.luUnpack(LU, pivots, true, true) as [Tensor, Tensor, Tensor];
  return { P, L: Lo, U };
}
/** A = P L U. */
export function lu(a: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const [P, Lo, U] = L.lu(a, true) as [Tensor, Tensor, Tensor];
  return { P, L: Lo, U };
}
export const det = (a: Tensor) => L.det(a);
export const inv = (a: Tensor) => L.inv(a);
export const solve = (a: Tensor, b: Tensor) => L.solve(a, b, true);
export const eigvalsh = (a: Tensor) => L.eigvalsh(a, "L");
