/**
 * A minimal qcow2 v3 header: magic, version, optional backing-file offset, virtual size and a
 * label — all the simulator's image checks read. The bytes of stand-in images and of the images
 * tests serve on loopback.
 */
export function qcow2Header(virtualSize: number, options: { readonly label?: string; readonly backingFile?: boolean } = {}): Buffer {
  const buf = Buffer.alloc(4096, 0);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  if (options.backingFile) buf.writeBigUInt64BE(512n, 8);
  buf.writeBigUInt64BE(BigInt(virtualSize), 24);
  buf.write(options.label ?? 'lab test image', 1024);
  return buf;
}
