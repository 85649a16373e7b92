/**
 * A `worker` process has no daemon: this is its `/metrics` (the queue's and this process's
 * workers' metrics, and the process metrics) and `/healthz`.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

import { collectDefaultMetrics, Registry } from 'prom-client';

import { registerQueueMetrics, type QueueWorkers, type WorkQueue } from '../queue/index.js';

export async function serveWorkerMetrics(
  host: string,
  port: number,
  queue: WorkQueue,
  workers: QueueWorkers,
): Promise<Server> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerQueueMetrics(registry, queue, workers);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    res.writeHead(path === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(path === '/healthz' ? 'ok\n' : 'not found\n');
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
