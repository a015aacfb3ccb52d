// The rolling-hash kernel contract shared by the wasm kernel and the TypeScript fallback, and the
// choice between them (wasm unless it cannot load, or a caller or HOLDFAST_CHUNKER_KERNEL asks).

import { HoldfastError } from '../errors.js';
import type { RabinTables } from './tables.js';
import { TsKernel } from './ts-kernel.js';
import { WasmKernel } from './wasm-kernel.js';

export type KernelKind = 'wasm' | 'ts';
export type KernelChoice = KernelKind | 'auto';

/**
 * Finds restic chunk boundaries in bytes that the caller places in the kernel's own memory
 * (`area`), so the wasm kernel reads them without a copy.
 */
export interface Kernel {
  readonly kind: KernelKind;
  /** Working memory for input. A new view after `reserve` grows it; re-read it after that. */
  readonly area: Uint8Array;
  /** Makes `area` at least `size` bytes long, keeping its contents. */
  reserve(size: number): void;
  /**
   * Continues the open chunk over area[start, end). Returns the offset just past the next cut
   * (the kernel is then reset for the chunk after it), or -1 if the range ended without one.
   * Once the open chunk is MIN_SIZE long, area[start − 64, start) must hold the stream's
   * preceding 64 bytes.
   */
  scan(start: number, end: number): number;
  /** Bytes of the open chunk so far. */
  readonly pending: number;
  /** The digest at the last cut (restic's Chunk.Cut). */
  readonly lastCutDigest: bigint;
  /** Starts a new stream: the open chunk is dropped. */
  reset(): void;
}

const ENV_VAR = 'HOLDFAST_CHUNKER_KERNEL';

let wasmError: unknown;

/** Why `auto` fell back to the TypeScript kernel, if it did. */
export function wasmKernelError(): unknown {
  return wasmError;
}

export function createKernel(tables: RabinTables, choice: KernelChoice = 'auto'): Kernel {
  const wanted = choice === 'auto' ? fromEnvironment() : choice;
  if (wanted === 'ts') return new TsKernel(tables);
  if (wanted === 'wasm') {
    try {
      return new WasmKernel(tables);
    } catch (err) {
      throw new HoldfastError('ERR_UNSUPPORTED', `the wasm chunker kernel cannot be loaded here; set ${ENV_VAR}=ts (or auto) to use the TypeScript kernel`, { cause: err });
    }
  }
  if (wasmError === undefined) {
    try {
      return new WasmKernel(tables);
    } catch (err) {
      wasmError = err;
    }
  }
  return new TsKernel(tables);
}

function fromEnvironment(): KernelChoice {
  const value = process.env[ENV_VAR];
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'wasm' || value === 'ts') return value;
  throw new HoldfastError('ERR_INVALID_ARGUMENT', `${ENV_VAR} must be wasm, ts or auto, not ${JSON.stringify(value)}`);
}
