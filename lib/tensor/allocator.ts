// How the process's C allocator (glibc malloc) treats tensor memory. LibTorch takes every CPU tensor
// from malloc. glibc's defaults hand a freed block at the top of the heap back to the kernel once
// 128 KB-32 MB lie free there, so a training step that frees its activations at the end gives the
// memory back and faults every page in again on the next step: on the glow-small benchmark,
// 10,000-14,000 page faults a step and 12-17% of its time. Keeping up to TRIM_THRESHOLD free at the
// top of the heap, and serving blocks below MMAP_THRESHOLD from it, removes that churn (BENCHMARKS.md).
// The resident set then stays at the run's high-water mark plus at most TRIM_THRESHOLD, which is flat.
//
// Not applied when the user has chosen their own malloc settings (MALLOC_*_ variables or glibc.malloc
// tunables) or set TORCHTS_OOD_MALLOC=system.
import type { NativeAddon } from "./native.js";

/** Blocks up to this size come from the heap, not a fresh mmap (the ceiling of glibc's own dynamic threshold). */
export const MMAP_THRESHOLD = 32 * 1024 * 1024;
/** Free memory kept at the top of the heap before it is returned to the kernel. */
export const TRIM_THRESHOLD = 256 * 1024 * 1024;

export type AllocatorPolicy = "tuned" | "system" | "user" | "unavailable";

/** glibc's variables that, when set, mean the user has chosen their own malloc settings. */
export const USER_MALLOC_VARS = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"] as const;

/** The tuned settings as environment variables, for giving another process (a reference benchmark) the same. */
export const TUNED_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(MMAP_THRESHOLD), MALLOC_TRIM_THRESHOLD_: String(TRIM_THRESHOLD) };

/** Which policy applies under these environment variables (before asking the C library). */
export function allocatorPolicyFor(env: NodeJS.ProcessEnv): "tuned" | "system" | "user" {
  const choice = env.TORCHTS_OOD_MALLOC;
  if (choice !== undefined && choice !== "tuned" && choice !== "system") throw new Error(`TORCHTS_OOD_MALLOC must be "tuned" or "system", got "${choice}"`);
  if (choice === "system") return "system";
  if (USER_MALLOC_VARS.some((v) => env[v] !== undefined) || /glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? "")) return "user";
  return "tuned";
}

let applied: AllocatorPolicy = "system";

/** Applies the policy once, when the addon loads. */
export function applyAllocatorPolicy(addon: NativeAddon, env: NodeJS.ProcessEnv = process.env): AllocatorPolicy {
  const policy = allocatorPolicyFor(env);
  applied = policy === "tuned" ? (addon.mallocOptions(MMAP_THRESHOLD, TRIM_THRESHOLD) ? "tuned" : "unavailable") : policy;
  return applied;
}

/** The policy in force in this process: tuned, system (opted out), user (their MALLOC_* settings), unavailable (not glibc). */
export const allocatorPolicy = (): AllocatorPolicy => applied;
