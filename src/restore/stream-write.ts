// Writing to a stream with its backpressure respected: wait for 'drain' when its buffer is full,
// and fail instead of hanging when the stream errors or closes (a reader that went away).

import type { Writable } from 'node:stream';

export function writeAll(out: Writable, data: Uint8Array): Promise<void> {
  if (out.destroyed) return Promise.reject(new Error('output closed'));
  if (out.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('output closed'));
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}
