// Writing a node's extended attributes back: through the optional native module @napi-rs/xattr for
// paths that are text, through the python3 helper for byte paths or when the module is missing.

import { isUtf8 } from 'node:buffer';
import type { ExtendedAttribute } from '../format/node.js';
import type { PosixHelper } from './posix-helper.js';

/** The part of @napi-rs/xattr we use; like lsetxattr it acts on a symlink itself. */
interface XattrModule {
  setAttribute(path: string, name: string, value: Buffer): Promise<void>;
}

// A variable keeps TypeScript from resolving the optional module at build time.
const moduleName = '@napi-rs/xattr';
let loading: Promise<XattrModule | undefined> | undefined;

function loadModule(): Promise<XattrModule | undefined> {
  loading ??= import(moduleName).then(
    (mod: { default?: XattrModule } & XattrModule) => mod.default ?? mod,
    () => undefined,
  );
  return loading;
}

/** The module's errors name the errno only in their text ("... (os error 95)"): say which call failed. */
function described(err: unknown, name: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`setxattr ${name}: ${message.replace(/\s*\(os error \d+\)/, '')}`, { cause: err });
}

export async function setExtendedAttributes(path: Buffer, attrs: readonly ExtendedAttribute[], helper: PosixHelper): Promise<void> {
  if (attrs.length === 0) return;
  const mod = isUtf8(path) ? await loadModule() : undefined;
  for (const attr of attrs) {
    // Go's nil value (JSON null) and an empty one both mean an attribute without bytes.
    const value = attr.value ?? Buffer.alloc(0);
    if (mod) {
      try {
        await mod.setAttribute(path.toString('utf8'), attr.name, value);
      } catch (err) {
        throw described(err, attr.name);
      }
    } else {
      await helper.setxattr(path, attr.name, value);
    }
  }
}
