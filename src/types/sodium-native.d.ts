// The part of sodium-native's untyped API that holdfast uses: Poly1305 one-time authentication.

declare module 'sodium-native' {
  export const crypto_onetimeauth_BYTES: number;
  export const crypto_onetimeauth_KEYBYTES: number;
  export function crypto_onetimeauth(out: Uint8Array, input: Uint8Array, key: Uint8Array): void;
  export function crypto_onetimeauth_verify(tag: Uint8Array, input: Uint8Array, key: Uint8Array): boolean;
  export const crypto_onetimeauth_STATEBYTES: number;
  export function crypto_onetimeauth_init(state: Uint8Array, key: Uint8Array): void;
  export function crypto_onetimeauth_update(state: Uint8Array, input: Uint8Array): void;
  export function crypto_onetimeauth_final(state: Uint8Array, out: Uint8Array): void;
}
