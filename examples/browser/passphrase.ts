/**
 * The demo's encryption key: AES-GCM derived in the page from the user's passphrase with PBKDF2
 * (README.md, "Encryption"). Only the passphrase exists outside this function, and only with the
 * user: the key is non-extractable, never stored, never sent. The Worker and R2 see ciphertext.
 * Shared with test/e2e, which derives the same key to read R2 the way a second device would.
 */

/** What the page uses without `#passphrase=`. A demo default, not a secret: anyone can read it here. */
export const DEMO_PASSPHRASE = 'snapshelf demo passphrase'

/**
 * PBKDF2-SHA-256 rounds: OWASP's figure for SHA-256 (the root README's too). Measured once per
 * page load on the 2-core e2e machine under load: 0.13–0.16 s in Chromium, 0.22 s in Node (the
 * tests derive it too), so the e2e suite needs no smaller figure; a smaller one would only make
 * a copied bucket cheaper to guess passphrases against.
 */
export const ITERATIONS = 600_000

/**
 * The key id written in every envelope (in the clear: it names the derivation, never the user).
 * A new derivation (another salt rule, more rounds) is a new id, so old objects stay readable
 * while the old key is in the keyring. `pbkdf2-v1` salted with the conversation; the page opened
 * one conversation per store then, and one store now syncs them all (see `saltOf`).
 */
export const KEY_ID = 'pbkdf2-v2'

/**
 * The salt: the app and the user (`?user=`). One key for all of a user's conversations: one
 * `TieredStorage` holds and syncs them all, and a store has one write key. The user id, not the
 * token: a bearer token is a credential that changes, while the key must not (a new token would
 * lose every message).
 *
 * @example
 * saltOf('alice') // 'snapshelf-demo/user:alice'
 */
export function saltOf(user: string): string {
  return `snapshelf-demo/user:${user}`
}

/**
 * The `encryption` option for a user's conversations: the key derived from `passphrase`, salted
 * with the user id.
 *
 * @example
 * const storage = new TieredStorage({ local, remote, encryption: await encryptionFor('correct horse', 'alice') })
 */
export async function encryptionFor(
  passphrase: string,
  user: string,
): Promise<{ keys: { [keyId: string]: CryptoKey }; writeKeyId: string }> {
  const encode = (text: string) => new TextEncoder().encode(text)
  const material = await crypto.subtle.importKey('raw', encode(passphrase), 'PBKDF2', false, ['deriveKey'])
  const key = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: encode(saltOf(user)), iterations: ITERATIONS },
    material,
    { name: 'AES-GCM', length: 256 },
    false, // non-extractable: not even this page can read the key's bytes back
    ['encrypt', 'decrypt'],
  )
  return { keys: { [KEY_ID]: key }, writeKeyId: KEY_ID }
}
