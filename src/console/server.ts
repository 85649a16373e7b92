/** The console alone on its own port (`pleo-export console`): only /console, a redirect from /. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createWebConsole } from './console.js';
import type { ConsoleOptions } from './types.js';

export interface ConsoleServer {
  /** e.g. `http://127.0.0.1:8090/console/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startConsoleServer(
  options: ConsoleOptions & { host: string; port: number },
): Promise<ConsoleServer> {
  const web = createWebConsole(options);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/console' || path.startsWith('/console/')) {
      void web.handle(req, res);
      return;
    }
    res.writeHead(path === '/' ? 303 : 404, { location: '/console/jobs', 'content-length': '0' });
    res.end();
  });
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/console/`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        web.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
