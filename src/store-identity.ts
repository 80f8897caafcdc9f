/**
 * A store's identity: 8 random bytes as 16 lowercase hex digits, minted once per store. It is
 * stamped into every snapshot and every commit record, so a log copied in from another store is
 * recognised and never replayed onto this one.
 */
export type StoreIdentity = string;

/** How many bytes an identity takes in a snapshot header or a commit record. */
export const IDENTITY_BYTES = 8;

/** A new random identity; never all zeros, which means "no identity" on disk. */
export function mintIdentity(): StoreIdentity {
  for (;;) {
    const identity = identityFromBytes(crypto.getRandomValues(new Uint8Array(IDENTITY_BYTES)));
    if (identity !== null) return identity;
  }
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Reads an identity from its 8 bytes; null when they are all zero (written before identities existed). */
export function identityFromBytes(bytes: Uint8Array): StoreIdentity | null {
  let identity = '';
  let zero = true;
  // Every commit record carries one, so opening a long log reads thousands: no array per call.
  for (let i = 0; i < IDENTITY_BYTES; i++) {
    identity += HEX[bytes[i]!]!;
    if (bytes[i] !== 0) zero = false;
  }
  return zero ? null : identity;
}

/** The 8 bytes of an identity, as stored. */
export function identityToBytes(identity: StoreIdentity): Uint8Array {
  if (!/^[0-9a-f]{16}$/.test(identity)) throw new Error(`not a store identity: ${identity}`);
  return Uint8Array.from({ length: IDENTITY_BYTES }, (_, i) => Number.parseInt(identity.slice(i * 2, i * 2 + 2), 16));
}
