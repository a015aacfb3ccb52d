// The messages between the pack file writer and its worker thread.

export type PackFileRequest =
  | { readonly type: 'open'; readonly pack: number; readonly path: string }
  /** `buffer` is transferred and sent back in the reply for reuse. */
  | { readonly type: 'write'; readonly pack: number; readonly buffer: ArrayBuffer; readonly length: number }
  | { readonly type: 'finish'; readonly pack: number }
  /** Closes and removes every temp file not yet finished: the run is ending without them. */
  | { readonly type: 'abandon' };

export type PackFileReply =
  | { readonly type: 'written'; readonly buffer: ArrayBuffer }
  | { readonly type: 'finished'; readonly pack: number; readonly id: string; readonly size: number }
  | { readonly type: 'failed'; readonly pack: number; readonly message: string }
  | { readonly type: 'abandoned' };
