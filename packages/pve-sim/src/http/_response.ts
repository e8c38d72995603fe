import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** The reason phrase PVE sends: the first line of the message, trailing newline dropped. */
export function reasonPhrase(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/\r/g, '');
  // Node rejects control characters and non-latin1 text in a status line.
  return first.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

export interface WriteOptions {
  readonly status: number;
  readonly reason: string;
  readonly contentType?: string;
  readonly body: string;
  readonly acceptGzip: boolean;
}

/** pve-http-server's `response`: fixed header set, keep-alive only below 400, gzip above 1 KiB. */
export function writeResponse(res: ServerResponse, opts: WriteOptions): void {
  const date = new Date().toUTCString();
  let body: Buffer = Buffer.from(opts.body, 'utf8');
  const headers: Record<string, string> = {};
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  headers['Date'] = date;
  headers['Expires'] = date;
  headers['Cache-Control'] = 'max-age=0';
  headers['Pragma'] = 'no-cache';
  headers['Server'] = 'pve-api-daemon/3.0';
  if (body.length > 1024 && opts.acceptGzip) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = String(body.length);
  headers['Connection'] = opts.status >= 400 ? 'close' : 'Keep-Alive';
  res.shouldKeepAlive = opts.status < 400;
  res.writeHead(opts.status, opts.reason, headers);
  res.end(body);
}
