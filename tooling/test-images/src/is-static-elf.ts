const ptInterp = 3;

/**
 * True when `binary` is a 64-bit little-endian ELF with no program interpreter (`PT_INTERP`),
 * i.e. it runs without a dynamic loader or libc in the rootfs.
 */
export function isStaticElf(binary: Buffer): boolean {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46) return false;
  if (binary[4] !== 2 || binary[5] !== 1) return false;
  const programHeaderOffset = Number(binary.readBigUInt64LE(32));
  const programHeaderSize = binary.readUInt16LE(54);
  const programHeaderCount = binary.readUInt16LE(56);
  for (let index = 0; index < programHeaderCount; index++) {
    const offset = programHeaderOffset + index * programHeaderSize;
    if (offset + 4 > binary.length) return false;
    if (binary.readUInt32LE(offset) === ptInterp) return false;
  }
  return true;
}
