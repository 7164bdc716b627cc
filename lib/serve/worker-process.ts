// A scoring worker in a child process (`--isolation process`), with the face of a worker_threads Worker
// (postMessage, terminate, "message" / "error" / "exit" events), so the pool drives both alike. A native
// fault (SIGSEGV) in LibTorch then ends this process only; in a thread it would end the server.
import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";

export class ProcessWorker extends EventEmitter {
  readonly process: ChildProcess;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null = null;

  constructor(path: string, init: object) {
    super();
    // "advanced" serialization carries typed arrays over IPC as typed arrays.
    this.process = fork(path, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.process.on("message", (m) => this.emit("message", m));
    this.process.on("error", (e) => this.emit("error", e));
    this.process.once("exit", (code, signal) => {
      this.signal = signal;
      this.emit("exit", code ?? 1, signal);
    });
    this.process.send({ init });
  }

  postMessage(m: unknown): void {
    if (this.process.connected) this.process.send(m as object);
  }

  terminate(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => this.process.once("exit", () => r()));
    this.process.kill("SIGKILL");
    return gone;
  }
}
