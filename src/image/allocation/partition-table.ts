// What the partition-table parsers (MBR, GPT) hand to allocation detection: the sectors the
// tables occupy, the partitions they describe, and what looked wrong on the way.

import type { TableKind } from './types.js';

export interface Partition {
  /** As Linux numbers it: MBR 1–4 primary and 5… logical in chain order; GPT entry index + 1. */
  number: number;
  offset: number;
  length: number;
  /** MBR type byte ("0x83") or GPT type GUID. */
  type: string;
  label?: string;
}

export interface TableArea {
  table: TableKind;
  offset: number;
  length: number;
}

export interface PartitionTable {
  scheme: 'mbr' | 'gpt';
  areas: TableArea[];
  partitions: Partition[];
  warnings: string[];
}

/**
 * Clips a partition to the image. A table that points past the end describes a larger disk the
 * image was cut from; what exists is still worth parsing.
 */
export function clipToImage(p: Partition, size: number, scheme: string, warnings: string[]): Partition | undefined {
  if (p.offset >= size) {
    warnings.push(`${scheme}: partition ${p.number} starts at byte ${p.offset}, beyond the ${size}-byte image; ignoring it`);
    return undefined;
  }
  if (p.offset + p.length > size) {
    warnings.push(`${scheme}: partition ${p.number} ends beyond the image; using the ${size - p.offset} bytes that exist`);
    return { ...p, length: size - p.offset };
  }
  return p;
}
