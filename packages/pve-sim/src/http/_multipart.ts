import type { RawParams } from './_params.js';

export interface MultipartUpload {
  /** Form fields before the file part (`content`, `checksum`, `checksum-algorithm`). */
  readonly fields: RawParams;
  /** The `filename` attribute of the part named `filename`. */
  readonly filename: string | undefined;
  readonly data: Buffer | undefined;
}

/** The boundary of a `multipart/form-data` Content-Type, if that is what it is. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/**
 * Split an upload body like pve-http-server's `file_upload_multipart`: text fields are kept
 * until the part named `filename`, whose bytes become the uploaded file.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartUpload {
  const delimiter = Buffer.from(`--${boundary}`);
  const fields: RawParams = {};
  let filename: string | undefined;
  let data: Buffer | undefined;
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body[start] === 0x0d) start += 2;
    else if (body[start] === 0x0a) start += 1;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const part = body.subarray(start, end);
    const headerEnd = part.indexOf('\r\n\r\n') >= 0 ? part.indexOf('\r\n\r\n') : part.indexOf('\n\n');
    const sep = part.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const content = part.subarray(headerEnd + sep);
      const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const file = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      if (name === 'filename') {
        filename = file;
        data = Buffer.from(content);
      } else if (name) {
        fields[name] = content.toString('utf8');
      }
    }
    pos = next;
  }
  return { fields, filename, data };
}
