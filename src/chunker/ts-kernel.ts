// The TypeScript rolling-hash kernel: restic's cuts with the 61-bit digest as two 32-bit halves,
// in one plain lane. Used where WebAssembly is unavailable, and as the wasm kernel's referee.

import { MAX_SIZE, MIN_SIZE, PRE_HASH_SKIP, SPLIT_MASK, WINDOW_SIZE } from './params.js';
import type { Kernel } from './kernel.js';
import type { RabinTables } from './tables.js';

export class TsKernel implements Kernel {
  readonly kind = 'ts';
  area = new Uint8Array(0);
  lastCutDigest = 0n;
  // Int32Array views keep every table load a small integer for the JIT; only bits matter here.
  readonly #outHi: Int32Array;
  readonly #outLo: Int32Array;
  readonly #modHi: Int32Array;
  readonly #modLo: Int32Array;
  readonly #polShift: number;
  #count = 0;
  // restic's reset slides a 1 into an all-zero window, so a fresh digest is 1.
  #hi = 0;
  #lo = 1;

  constructor(tables: RabinTables) {
    this.#outHi = new Int32Array(tables.outHi.buffer, tables.outHi.byteOffset, 256);
    this.#outLo = new Int32Array(tables.outLo.buffer, tables.outLo.byteOffset, 256);
    this.#modHi = new Int32Array(tables.modHi.buffer, tables.modHi.byteOffset, 256);
    this.#modLo = new Int32Array(tables.modLo.buffer, tables.modLo.byteOffset, 256);
    this.#polShift = tables.polShift;
  }

  get pending(): number {
    return this.#count;
  }

  reserve(size: number): void {
    if (this.area.length >= size) return;
    const grown = new Uint8Array(size);
    grown.set(this.area);
    this.area = grown;
  }

  reset(): void {
    this.#count = 0;
    this.#hi = 0;
    this.#lo = 1;
  }

  scan(start: number, end: number): number {
    const buf = this.area;
    const outHi = this.#outHi;
    const outLo = this.#outLo;
    const modHi = this.#modHi;
    const modLo = this.#modLo;
    // The reduction index is digest >> polShift; for degrees ≥ 40 it lies wholly in the high half.
    const shift = this.#polShift;
    const wide = shift >= 32;
    const hiShift = wide ? shift - 32 : 0;
    const loLeft = 32 - shift;
    let p = start;
    let c = this.#count;
    let hi = this.#hi;
    let lo = this.#lo;

    if (c < PRE_HASH_SKIP) {
      const skip = Math.min(PRE_HASH_SKIP - c, end - p);
      p += skip;
      c += skip;
      if (c < PRE_HASH_SKIP) {
        this.#count = c;
        return -1;
      }
    }

    // The first 64 hashed bytes push out the reset window (63 zeros, then the 1).
    while (c < MIN_SIZE) {
      if (p >= end) {
        this.#save(c, hi, lo);
        return -1;
      }
      if (c === MIN_SIZE - 1) {
        hi ^= outHi[1];
        lo ^= outLo[1];
      }
      const idx = wide ? hi >>> hiShift : ((hi << loLeft) | (lo >>> shift)) & 0xff;
      hi = ((hi << 8) | (lo >>> 24)) ^ modHi[idx];
      lo = ((lo << 8) | buf[p]) ^ modLo[idx];
      p++;
      c++;
      if (c === MIN_SIZE && (lo & SPLIT_MASK) === 0) return this.#cut(p, hi, lo);
    }

    const from = p;
    const limit = Math.min(end, p + (MAX_SIZE - c));
    while (p < limit) {
      const out = buf[p - WINDOW_SIZE];
      hi ^= outHi[out];
      lo ^= outLo[out];
      const idx = wide ? hi >>> hiShift : ((hi << loLeft) | (lo >>> shift)) & 0xff;
      hi = ((hi << 8) | (lo >>> 24)) ^ modHi[idx];
      lo = ((lo << 8) | buf[p]) ^ modLo[idx];
      p++;
      if ((lo & SPLIT_MASK) === 0) return this.#cut(p, hi, lo);
    }
    c += p - from;
    if (c >= MAX_SIZE) return this.#cut(p, hi, lo);
    this.#save(c, hi, lo);
    return -1;
  }

  #save(count: number, hi: number, lo: number): void {
    this.#count = count;
    this.#hi = hi;
    this.#lo = lo;
  }

  #cut(p: number, hi: number, lo: number): number {
    this.lastCutDigest = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    this.reset();
    return p;
  }
}
