// What the file-system layer reports instead of failing: an entry it could read only in part (an
// unreadable xattr, a malformed tag file, a file that vanished), for the caller to show and count.

export interface FsWarning {
  /** The entry concerned, as raw bytes. */
  path: Buffer;
  message: string;
  cause?: unknown;
}

export type WarningSink = (warning: FsWarning) => void;

/** The sink used when the caller gives none: warnings are dropped. */
export const ignoreWarnings: WarningSink = () => undefined;
