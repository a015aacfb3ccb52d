// Names the common volume formats this module does not parse, so that the warning for a volume
// read in full says what it probably holds. Only the first 4 KiB, already read, is looked at.

const at = (b: Buffer, offset: number, text: string): boolean =>
  b.length >= offset + text.length && b.toString('latin1', offset, offset + text.length) === text;

/** A name such as "NTFS", or undefined when nothing familiar is there. */
export function foreignSignature(head: Buffer): string | undefined {
  if (at(head, 3, 'NTFS    ')) return 'NTFS';
  if (at(head, 3, 'EXFAT   ')) return 'exFAT';
  if (at(head, 0, 'XFSB')) return 'XFS';
  if (at(head, 0, 'LUKS\xba\xbe')) return 'LUKS';
  if (at(head, 512, 'LABELONE') || at(head, 536, 'LVM2')) return 'LVM2';
  if (at(head, 4086, 'SWAPSPACE2') || at(head, 4086, 'SWAP-SPACE')) return 'Linux swap';
  if (at(head, 0x36, 'FAT') || at(head, 0x52, 'FAT32')) return 'FAT';
  return undefined;
}
