// Where the machine's shared data sets are: ../shared beside the repository (the CI clone has its own copy there).
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

export const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const SHARED_DATASETS = resolve(REPO_ROOT, "..", "shared", "datasets");
