// An NBD export as an image source, optionally with a qemu dirty bitmap. A bitmap the server does
// not offer (missing, or dropped by qemu after an unclean shutdown) is reported, not fatal.

import { HoldfastError } from '../errors.js';
import { NbdClient } from '../nbd/client.js';
import { DIRTY_FLAG, dirtyBitmapContext } from '../nbd/constants.js';
import { parseNbdUri } from '../nbd/uri.js';
import type { Extent } from './allocation/index.js';
import type { ImageSource, OpenSourceOptions } from './image-source.js';

/** Reads in flight per connection: enough to keep a server's disk and the link busy. */
const MAX_IN_FLIGHT = 16;

export async function openNbdSource(uri: string, options: OpenSourceOptions): Promise<ImageSource> {
  const exportName = parseNbdUri(uri).exportName;
  let context: string | undefined;
  let client: NbdClient | undefined;
  if (options.dirtyBitmap !== undefined) {
    context = dirtyBitmapContext(options.dirtyBitmap);
    try {
      client = await NbdClient.connect(uri, { metaContexts: [context], maxInFlight: MAX_IN_FLIGHT });
    } catch (err) {
      const missing = err instanceof HoldfastError && err.code === 'ERR_NOT_FOUND' && err.message.startsWith(`bitmap ${options.dirtyBitmap} `);
      if (!missing) throw err;
      options.onBitmapUnavailable?.(err.message);
      context = undefined;
    }
  }
  client ??= await NbdClient.connect(uri, { maxInFlight: MAX_IN_FLIGHT });
  return new NbdSource(client, uri, exportName === '' ? undefined : exportName.replaceAll('/', '_'), context);
}

class NbdSource implements ImageSource {
  readonly kind = 'nbd';
  readonly size: number;
  readonly dirtyExtents?: () => AsyncIterable<Extent>;

  constructor(
    private readonly client: NbdClient,
    readonly location: string,
    readonly defaultName: string | undefined,
    context: string | undefined,
  ) {
    this.size = client.size;
    if (context !== undefined) this.dirtyExtents = () => this.dirty(context);
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.client.read(offset, length);
  }

  async readInto(offset: number, target: Buffer): Promise<void> {
    await this.client.readInto(offset, target);
  }

  private async *dirty(context: string): AsyncGenerator<Extent> {
    for await (const e of this.client.extents(context)) if ((e.flags & DIRTY_FLAG) !== 0) yield { offset: e.offset, length: e.length };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
