import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A qcow2 header claiming `virtualSize` bytes (enough for the simulator's image check). */
export function fakeQcow2(virtualSize: number, backingFile = false): Buffer {
  const buf = Buffer.alloc(4096, 0);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  if (backingFile) buf.writeBigUInt64BE(512n, 8);
  buf.writeBigUInt64BE(BigInt(virtualSize), 24);
  buf.write('lab test image', 1024);
  return buf;
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
