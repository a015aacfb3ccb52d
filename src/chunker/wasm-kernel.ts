// The wasm rolling-hash kernel: instantiates the compiled AssemblyScript module (one instance,
// and so one memory, per kernel), loads the polynomial's tables into it and exposes its memory.

import type { Kernel } from './kernel.js';
import { rabinWasmBase64 } from './rabin-wasm.generated.js';
import type { RabinTables } from './tables.js';

// Memory layout agreed with assembly/rabin.ts: out table, mod table, then the input area.
const OUT_TABLE = 0;
const MOD_TABLE = 2048;
const AREA_BASE = 4096;
const PAGE = 65536;

// @types/node does not declare the WebAssembly global; this is the part used here. Reading it
// from globalThis also lets `--jitless`, where it is missing, fail over to the TS kernel.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface RabinExports {
  memory: WasmMemory;
  setPolShift(shift: number): void;
  reset(): void;
  pending(): number;
  lastCutDigest(): bigint;
  scan(start: number, end: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

let compiled: object | undefined;

function wasmApi(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) throw new Error('WebAssembly is not available in this runtime');
  return api;
}

function rabinModule(): object {
  compiled ??= new (wasmApi().Module)(Buffer.from(rabinWasmBase64, 'base64'));
  return compiled;
}

export class WasmKernel implements Kernel {
  readonly kind = 'wasm';
  area: Uint8Array;
  readonly #wasm: RabinExports;

  constructor(tables: RabinTables) {
    this.#wasm = new (wasmApi().Instance)(rabinModule(), {}).exports as RabinExports;
    const memory = this.#wasm.memory;
    if (memory.buffer.byteLength < AREA_BASE) memory.grow(1);
    const view = new DataView(memory.buffer);
    // Each table entry is a little-endian u64 for the kernel.
    for (let b = 0; b < 256; b++) {
      view.setUint32(OUT_TABLE + 8 * b, tables.outLo[b], true);
      view.setUint32(OUT_TABLE + 8 * b + 4, tables.outHi[b], true);
      view.setUint32(MOD_TABLE + 8 * b, tables.modLo[b], true);
      view.setUint32(MOD_TABLE + 8 * b + 4, tables.modHi[b], true);
    }
    this.#wasm.setPolShift(tables.polShift);
    this.#wasm.reset();
    this.area = new Uint8Array(memory.buffer, AREA_BASE);
  }

  get pending(): number {
    return this.#wasm.pending();
  }

  get lastCutDigest(): bigint {
    return this.#wasm.lastCutDigest();
  }

  reserve(size: number): void {
    if (this.area.length >= size) return;
    const memory = this.#wasm.memory;
    memory.grow(Math.ceil((AREA_BASE + size - memory.buffer.byteLength) / PAGE));
    this.area = new Uint8Array(memory.buffer, AREA_BASE);
  }

  reset(): void {
    this.#wasm.reset();
  }

  scan(start: number, end: number): number {
    const cut = this.#wasm.scan(AREA_BASE + start, AREA_BASE + end);
    return cut === 0 ? -1 : cut - AREA_BASE;
  }
}
