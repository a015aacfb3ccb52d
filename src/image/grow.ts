// --grow after a restore to a larger target: a whole-disk ext2/3/4 grows with resize2fs; on a GPT or
// MBR disk the last (primary) partition is extended with sfdisk and its ext2/3/4 grown through a loop device.

import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { HoldfastError } from '../errors.js';
import { detectAllocation, type VolumePart } from './allocation/index.js';

const exec = promisify(execFile);

export interface GrowResult {
  /** What grew, e.g. "ext4 on partition 2". */
  readonly volume: string;
  /** The volume's bytes before and after. */
  readonly from: number;
  readonly to: number;
}

async function tool(cmd: string, args: string[], input?: string): Promise<string> {
  try {
    if (input === undefined) return (await exec(cmd, args, { maxBuffer: 16 << 20 })).stdout;
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin!.end(input);
    });
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new HoldfastError('ERR_UNSUPPORTED', `--grow needs ${cmd}, which is not installed`);
    throw new HoldfastError('ERR_IO', `${cmd} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** e2fsck -f -y; exit 1 and 2 mean it repaired something, which resize2fs then accepts. */
async function checkExt(device: string): Promise<void> {
  try {
    await exec('e2fsck', ['-f', '-y', device]);
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 1 || e.code === 2) return;
    throw new HoldfastError('ERR_IO', `e2fsck -f -y ${device} found errors it could not repair (exit ${e.code}): ${(e.stderr || e.stdout || '').trim()}`);
  }
}

async function layoutOf(target: string, imageSize: number) {
  const fh = await open(target, 'r');
  try {
    const source = {
      size: imageSize,
      read: async (offset: number, length: number) => {
        const buf = Buffer.alloc(length);
        await fh.read(buf, 0, length, offset);
        return buf;
      },
    };
    return (await detectAllocation(source)).layout;
  } finally {
    await fh.close();
  }
}

const isExt = (v: VolumePart): boolean => v.fs === 'ext2' || v.fs === 'ext3' || v.fs === 'ext4';

function notGrown(reason: string): HoldfastError {
  return new HoldfastError('ERR_UNSUPPORTED', `the image was restored, but not grown: ${reason}`);
}

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
}

async function growPartition(target: string, table: string, volume: VolumePart): Promise<GrowResult> {
  const number = Number(/^partition (\d+)$/.exec(volume.name)?.[1]);
  if (table === 'mbr' && number > 4) throw notGrown(`${volume.name} is a logical partition; grow the extended partition and it by hand`);
  if (process.getuid?.() !== 0) throw notGrown(`growing ${volume.name} needs root (its file system is resized through a loop device)`);
  if (table === 'gpt') await tool('sfdisk', ['--relocate', 'gpt-bak-std', target]);
  await tool('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', '-N', String(number), target], ', +\n');
  const dump = JSON.parse(await tool('sfdisk', ['--json', target])) as { partitiontable: { sectorsize?: number; partitions: SfdiskPartition[] } };
  const sector = dump.partitiontable.sectorsize ?? 512;
  const part = dump.partitiontable.partitions.find((p) => p.node.endsWith(String(number)) && p.start * sector === volume.offset);
  if (part === undefined) throw new HoldfastError('ERR_IO', `sfdisk no longer lists ${volume.name} at byte ${volume.offset}`);
  const length = part.size * sector;
  const loop = (await tool('losetup', ['--find', '--show', '--offset', String(volume.offset), '--sizelimit', String(length), target])).trim();
  try {
    await checkExt(loop);
    await tool('resize2fs', [loop]);
  } finally {
    await tool('losetup', ['-d', loop]);
  }
  return { volume: `${volume.fs} on ${volume.name}`, from: volume.length, to: length };
}

/** Grows the image's last file system into the space a target larger than the image adds. */
export async function growImage(target: string, imageSize: number, targetSize: number): Promise<GrowResult> {
  const layout = await layoutOf(target, imageSize);
  const volumes = layout.filter((p): p is VolumePart => p.kind === 'volume');
  const last = volumes.reduce<VolumePart | undefined>((a, v) => (a === undefined || v.offset > a.offset ? v : a), undefined);
  if (last === undefined) throw notGrown('it has no file system that holdfast recognises');
  if (!isExt(last)) throw notGrown(`only ext2/3/4 can be grown, and the last volume is ${last.fs} on ${last.name}`);
  if (last.name === 'disk') {
    await checkExt(target);
    await tool('resize2fs', [target]);
    return { volume: `${last.fs} on the whole disk`, from: imageSize, to: targetSize };
  }
  const table = layout.find((p) => p.kind === 'table' && (p.table === 'gpt' || p.table === 'mbr'));
  if (table?.kind !== 'table') throw notGrown(`no partition table was found for ${last.name}`);
  return growPartition(target, table.table, last);
}
