// The three checksums the on-disk structures we parse carry: CRC-32 (GPT), CRC-32C (ext4
// metadata_csum, jbd2) and CRC-16 (ext4 uninit_bg group descriptors), table-driven and pure.

function table(poly: number, bits: 16 | 32): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = bits === 32 ? c >>> 0 : c & 0xffff;
  }
  return t;
}

const crc32Table = table(0xedb88320, 32);
const crc32cTable = table(0x82f63b78, 32);
const crc16Table = table(0xa001, 16);

function update(t: Uint32Array, crc: number, data: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The CRC-32 of zlib and UEFI (initial value and final xor 0xffffffff). */
export function crc32(data: Uint8Array): number {
  return ~update(crc32Table, 0xffffffff, data) >>> 0;
}

/**
 * One step of CRC-32C without the final inversion, as the Linux crc32c() and thus ext4 and jbd2
 * use it: checksums there are chained through several buffers starting from a seed.
 */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  return update(crc32cTable, crc >>> 0, data);
}

/** One step of the reflected CRC-16 (polynomial 0x8005) that the Linux crc16() computes. */
export function crc16Update(crc: number, data: Uint8Array): number {
  return update(crc16Table, crc & 0xffff, data) & 0xffff;
}
