import ssh2 from 'ssh2';
import { Secret } from '@lab/core';

export interface KeyPair {
  /** OpenSSH private key text. */
  readonly privateKey: Secret<string>;
  /** `ssh-ed25519 AAAA… comment`, for authorized_keys or a cloud-init seed. */
  readonly publicKey: string;
  /** The public key blob, for pinning with `pinHostKey`. */
  readonly blob: Buffer;
}

/**
 * A new ed25519 key pair in OpenSSH format: the user key lab logs in with, or host keys L2 puts
 * in a guest's cloud-init seed so they are known before the first connection (adr/0061).
 * ssh2's generator emits an unparsable key about once in 256 (it strips a leading zero byte
 * from the public key: mscdex/ssh2#1390, #1513); such a pair is discarded and generated again.
 */
export function generateKeyPair(comment = ''): KeyPair {
  for (;;) {
    const kp = ssh2.utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    const pub = ssh2.utils.parseKey(kp.public);
    const priv = ssh2.utils.parseKey(kp.private);
    if (pub instanceof Error || priv instanceof Error) continue;
    const blob = pub.getPublicSSH();
    if (!blob.equals(priv.getPublicSSH())) continue;
    return { privateKey: new Secret(kp.private), publicKey: kp.public.trim(), blob };
  }
}
