import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';
import { writeFileAtomic } from '../state/persist.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 of the certificate, colon-separated upper-case hex, as PVE shows it. */
  readonly fingerprint: string;
}

/**
 * The API certificate, generated on first start (RSA 2048, SAN 127.0.0.1/::1/localhost,
 * 10 years like `pve-ssl.pem`) and kept in `<stateDir>/tls/` so clients can pin it across restarts.
 */
export async function loadOrCreateTls(stateDir: string, nodeName: string, given?: { cert: string; key: string }): Promise<TlsMaterial> {
  const dir = path.join(stateDir, 'tls');
  const certFile = path.join(dir, 'pve-ssl.pem');
  const keyFile = path.join(dir, 'pve-ssl.key');
  let cert: string;
  let key: string;
  if (given) {
    await writeFileAtomic(keyFile, given.key, 0o600);
    await writeFileAtomic(certFile, given.cert, 0o644);
  }
  try {
    cert = await readFile(certFile, 'utf8');
    key = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const now = new Date();
    const pems = await generate([{ name: 'commonName', value: `${nodeName}.lab.invalid` }, { name: 'organizationName', value: 'PVE Cluster Node' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 24 * 3600_000),
      notAfterDate: new Date(now.getTime() + 10 * 365 * 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
            { type: 2, value: 'localhost' },
            { type: 2, value: nodeName },
          ],
        },
      ],
    });
    cert = pems.cert;
    key = pems.private;
    await writeFileAtomic(keyFile, key, 0o600);
    await writeFileAtomic(certFile, cert, 0o644);
  }
  const fingerprint = new X509Certificate(cert).fingerprint256;
  await writeFileAtomic(path.join(dir, 'fingerprint'), `${fingerprint}\n`, 0o644);
  return { cert, key, fingerprint };
}
