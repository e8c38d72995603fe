import { open } from 'node:fs/promises';

export interface ImageInfo {
  readonly format: string;
  /** Size the guest sees, in bytes. */
  readonly virtualSize: number;
  readonly backingFile: boolean;
}

/**
 * `file_size_info` for an untrusted image: qcow2 virtual size and backing-file flag from the
 * header (big-endian: magic `QFI\xfb`, backing offset at 8, size at 24); other formats are
 * their file size.
 */
export async function imageInfo(path: string, declared: string): Promise<ImageInfo> {
  const fh = await open(path, 'r');
  try {
    const stat = await fh.stat();
    const header = Buffer.alloc(32);
    const { bytesRead } = await fh.read(header, 0, 32, 0);
    const isQcow2 = bytesRead >= 32 && header.readUInt32BE(0) === 0x514649fb;
    if (declared === 'qcow2') {
      if (!isQcow2) throw new Error(`image '${path}' is not a valid qcow2 image\n`);
      return {
        format: 'qcow2',
        virtualSize: Number(header.readBigUInt64BE(24)),
        backingFile: header.readBigUInt64BE(8) !== 0n,
      };
    }
    return { format: declared, virtualSize: stat.size, backingFile: false };
  } finally {
    await fh.close();
  }
}
