import { arch } from 'node:os';

const message = 'hello from polythene\n';
const loadAddress = 0x400000n;
const headersSize = 64 + 56;

/**
 * A minimal static ELF executable for the host architecture (x86_64 or arm64) that writes
 * `hello from polythene\n` to stdout and exits 0, whatever its arguments. Hand-assembled so the
 * no-shell image needs no compiler and holds no shell, libc or busybox.
 */
export function createHelloBinary(architecture: string = arch()): Buffer {
  const code =
    architecture === 'x64' ? x86_64Code() : architecture === 'arm64' ? arm64Code() : undefined;
  if (code === undefined) {
    throw new Error(
      `no hello binary for architecture ${architecture}: only x64 and arm64 are supported`,
    );
  }
  const machine = architecture === 'x64' ? 0x3e : 0xb7;
  const size = headersSize + code.length;
  const header = Buffer.alloc(headersSize);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1; // ELF version
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(machine, 18);
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(loadAddress + BigInt(headersSize), 24); // entry
  header.writeBigUInt64LE(64n, 32); // program headers right after this header
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(1, 56);
  // One PT_LOAD segment mapping the whole file read+execute.
  header.writeUInt32LE(1, 64);
  header.writeUInt32LE(5, 68);
  header.writeBigUInt64LE(0n, 72);
  header.writeBigUInt64LE(loadAddress, 80);
  header.writeBigUInt64LE(loadAddress, 88);
  header.writeBigUInt64LE(BigInt(size), 96);
  header.writeBigUInt64LE(BigInt(size), 104);
  header.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([header, code]);
}

function x86_64Code(): Buffer {
  const text = Buffer.from(message);
  const instructions = [
    [0xb8, 0x01, 0x00, 0x00, 0x00], // mov eax, 1 (write)
    [0xbf, 0x01, 0x00, 0x00, 0x00], // mov edi, 1 (stdout)
    [0x48, 0x8d, 0x35, 0x10, 0x00, 0x00, 0x00], // lea rsi, [rip+16] (the message)
    [0xba, text.length, 0x00, 0x00, 0x00], // mov edx, length
    [0x0f, 0x05], // syscall
    [0xb8, 0x3c, 0x00, 0x00, 0x00], // mov eax, 60 (exit)
    [0x31, 0xff], // xor edi, edi
    [0x0f, 0x05], // syscall
  ];
  return Buffer.concat([Buffer.from(instructions.flat()), text]);
}

function arm64Code(): Buffer {
  const text = Buffer.from(message);
  const words = [
    0xd2800020, // mov x0, #1
    0x100000e1, // adr x1, #28 (the message, after these 8 words)
    0xd2800002 | (text.length << 5), // mov x2, #length
    0xd2800808, // mov x8, #64 (write)
    0xd4000001, // svc #0
    0xd2800000, // mov x0, #0
    0xd2800ba8, // mov x8, #93 (exit)
    0xd4000001, // svc #0
  ];
  const code = Buffer.alloc(words.length * 4);
  for (const [index, word] of words.entries()) code.writeUInt32LE(word >>> 0, index * 4);
  return Buffer.concat([code, text]);
}
