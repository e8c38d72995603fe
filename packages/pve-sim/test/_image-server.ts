import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { qcow2Header } from '../src/index.js';

/** A qcow2 header claiming `virtualSize` bytes (enough for the simulator's image check). */
export function fakeQcow2(virtualSize: number, backingFile = false): Buffer {
  return qcow2Header(virtualSize, { backingFile });
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export interface ImageServer {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves fixed files on 127.0.0.1 for download-url tests. */
export async function serveImages(files: Record<string, Buffer>): Promise<ImageServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
