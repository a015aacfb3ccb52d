// The one error family of holdfast: every error a user can cause carries a code and an exit code.
// It sits below every layer (imports nothing) so each layer can throw it and the CLI can render it.

/** Exit codes, as restic uses them where restic has one. */
export const ExitCode = {
  ok: 0,
  fatal: 1,
  /** The snapshot was made, but some source files could not be read. */
  incomplete: 3,
  repositoryMissing: 10,
  lockFailed: 11,
  wrongPassword: 12,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_WRONG_PASSWORD'
  | 'ERR_REPO_MISSING'
  | 'ERR_REPO_EXISTS'
  | 'ERR_CONFIG'
  | 'ERR_NOT_FOUND'
  | 'ERR_ALREADY_EXISTS'
  | 'ERR_CORRUPT'
  | 'ERR_MAC'
  | 'ERR_LOCKED'
  | 'ERR_NO_SPACE'
  | 'ERR_IO'
  | 'ERR_NETWORK'
  | 'ERR_HTTP'
  | 'ERR_PERMISSION'
  | 'ERR_UNSUPPORTED'
  | 'ERR_INTERRUPTED'
  | 'ERR_INCOMPLETE';

const exitFor: Partial<Record<ErrorCode, ExitCodeValue>> = {
  ERR_WRONG_PASSWORD: ExitCode.wrongPassword,
  ERR_REPO_MISSING: ExitCode.repositoryMissing,
  ERR_LOCKED: ExitCode.lockFailed,
  ERR_INTERRUPTED: ExitCode.interrupted,
  ERR_INCOMPLETE: ExitCode.incomplete,
};

export class HoldfastError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: ExitCodeValue }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HoldfastError';
    this.code = code;
    this.exitCode = options?.exitCode ?? exitFor[code] ?? ExitCode.fatal;
  }
}

/** A stored object failed a MAC, hash or structure check. */
export function corrupt(message: string, cause?: unknown): HoldfastError {
  return new HoldfastError('ERR_CORRUPT', message, { cause });
}

export function invalidArgument(message: string): HoldfastError {
  return new HoldfastError('ERR_INVALID_ARGUMENT', message);
}

/** The message of any thrown value, without a stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True for a Node system error with one of the given codes (ENOENT, EEXIST, ...). */
export function isSystemError(err: unknown, ...codes: string[]): err is NodeJS.ErrnoException {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
