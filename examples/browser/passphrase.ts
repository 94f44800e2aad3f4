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
 * while the old key is in the keyring.
 */
export const KEY_ID = 'pbkdf2-v1'

/**
 * The salt: the app and the conversation. The session id, not the token: the page knows its user
 * only by a bearer token, a credential that changes, while the key must not (a new token would
 * lose every message). Everyone allowed into a conversation opens it with its passphrase.
 *
 * @example
 * saltOf('alice-demo') // 'snapshelf-demo:alice-demo'
 */
export function saltOf(sessionId: string): string {
  return `snapshelf-demo:${sessionId}`
}

/**
 * The `encryption` option for a conversation: the key derived from `passphrase`, salted with the
 * session id.
 *
 * @example
 * const storage = new TieredStorage({ local, remote, encryption: await encryptionFor('correct horse', 'alice-demo') })
 */
export async function encryptionFor(
  passphrase: string,
  sessionId: string,
): Promise<{ keys: { [keyId: string]: CryptoKey }; writeKeyId: string }> {
  const encode = (text: string) => new TextEncoder().encode(text)
  const material = await crypto.subtle.importKey('raw', encode(passphrase), 'PBKDF2', false, ['deriveKey'])
  const key = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: encode(saltOf(sessionId)), iterations: ITERATIONS },
    material,
    { name: 'AES-GCM', length: 256 },
    false, // non-extractable: not even this page can read the key's bytes back
    ['encrypt', 'decrypt'],
  )
  return { keys: { [KEY_ID]: key }, writeKeyId: KEY_ID }
}
