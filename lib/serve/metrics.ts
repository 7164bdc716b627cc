// The server's Prometheus metrics (prom-client): requests, latency, batch sizes, queue depth, workers and
// event-loop delay.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ScoringPool } from "./pool.js";

/** The server's Prometheus metrics; gauges read the pool serving now, and `watch` counts each new pool's batches and restarts. */
export function serverMetrics(registry: Registry, pool: () => ScoringPool) {
  // Event-loop delay sampled every millisecond: a scoring call that blocked the loop would show here.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1 });
  const requests = new Counter({
    name: "torchts_serve_requests_total",
    help: 'HTTP requests by route, method and status; "aborted": the connection closed before the answer was sent (the client left, or its request timed out)',
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "torchts_serve_request_duration_seconds",
    help: "Time from request to answer",
    labelNames: ["route"],
    registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const images = new Counter({ name: "torchts_serve_images_scored_total", help: "Images scored and answered", registers: [registry] });
  const batchImages = new Histogram({
    name: "torchts_serve_batch_size_images",
    help: "Images per model call",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const batchRequests = new Histogram({
    name: "torchts_serve_batch_size_requests",
    help: "Requests per model call",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const restarts = new Counter({ name: "torchts_serve_worker_restarts_total", help: "Workers that died and were replaced", registers: [registry] });
  new Gauge({
    name: "torchts_serve_queue_depth_images",
    help: "Images waiting for a worker",
    registers: [registry],
    collect() {
      this.set(pool().stats().queuedImages);
    },
  });
  new Gauge({
    name: "torchts_serve_queue_depth_requests",
    help: "Requests waiting for a worker",
    registers: [registry],
    collect() {
      this.set(pool().stats().queuedRequests);
    },
  });
  new Gauge({
    name: "torchts_serve_workers_busy",
    help: "Workers scoring a batch now",
    registers: [registry],
    collect() {
      this.set(pool().stats().busyWorkers);
    },
  });
  new Gauge({
    name: "torchts_serve_workers_up",
    help: "Workers loaded and serving",
    registers: [registry],
    collect() {
      this.set(pool().stats().workers);
    },
  });
  const watch = (p: ScoringPool) => {
    p.on("batch", (n: number, requests: number) => {
      batchImages.observe(n);
      batchRequests.observe(requests);
    });
    p.on("restart", () => restarts.inc());
  };
  return { requests, latency, images, watch };
}
