// Mounting a ScoringPool in an HTTP app you already have (plain node:http here; Express or Koa alike).
// Build first (npm run build:ts), then: node examples/mount-pool.mjs RUN [PORT]
//   curl --data-binary @image.png -H 'content-type: image/png' localhost:3000/ood   (or 784 raw bytes)
import { createServer } from "node:http";
import { createScoringPool } from "../dist/lib/serve/pool.js";
import { bodyKind, unsupportedType } from "../dist/lib/serve/content-type.js";
import { requestImages } from "../dist/lib/serve/request-images.js";

const pool = await createScoringPool(process.argv[2], { workers: 2, maxBatch: 32 });
const app = createServer(async (req, res) => {
  if (req.method !== "POST" || req.url !== "/ood") return res.writeHead(404).end("your other routes\n");
  const kind = bodyKind(req.headers["content-type"]); // the declared type decides; bytes are never sniffed
  if (!kind) return res.writeHead(415).end(`${unsupportedType(req.headers["content-type"])}\n`);
  try {
    const body = Buffer.concat(await req.toArray()); // a real app limits the body size first
    const { images, n } = await requestImages(kind, body, pool.info.imageShape, pool.info.maxQueue);
    const [answer] = await pool.score(images, n); // batched with whatever else is in flight
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  } catch (e) {
    const status = { BadInputError: 400, RangeError: 400, QueueFullError: 503, PoolClosedError: 503 }[e.name] ?? 500;
    res.writeHead(status).end(`${e.message}\n`);
  }
});
app.listen(Number(process.argv[3] ?? 3000), "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${app.address().port}`));
process.once("SIGTERM", () => app.close(() => pool.close())); // answer what is in flight, then stop the workers
