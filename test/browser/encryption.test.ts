import { expect, it } from 'vitest'
import { CorruptError, MemoryStorage, type Snapshot } from 'snapshelf'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { TieredStorage } from 'snapshelf/tiered'
import { uniqueDbName } from './indexeddb-cases.js'

// Encryption in real Chromium (issue 16), with the key made the way the README tells a page to:
// PBKDF2 from the user's passphrase, non-extractable, never stored. IndexedDB and a tiered store's
// remote hold ciphertext only; a "reload" (new objects, same database, same passphrase) reads it
// back; a wrong passphrase is ERR_CORRUPT, never garbage.

/** The README recipe: a per-user AES-GCM key from a passphrase (the salt is per user, not secret). */
async function keyFromPassphrase(passphrase: string, salt: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: new TextEncoder().encode(`snapshelf:${salt}`), iterations: 600_000 },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

const sealed = (bytes: Uint8Array) => [0x89, 0x53, 0x48, 0x45].every((b, i) => bytes[i] === b)
const holds = (bytes: Uint8Array, text: string) => new TextDecoder('latin1').decode(bytes).includes(text)
const snapshotWith = (secret: string): Snapshot => ({
  scope: 'agent',
  schemaVersion: '1.0',
  createdAt: new Date().toISOString(),
  data: { messages: [secret] },
  appData: {},
})

it('IndexedDBStorage with a PBKDF2 key: sealed at rest, read back after a reload, a wrong passphrase is ERR_CORRUPT', async () => {
  const dbName = uniqueDbName()
  const location = { sessionId: 'user-1', scope: 'agent', scopeId: 'main' }
  const secret = `SECRET-chromium-${Math.random()}`
  const first = new IndexedDBStorage({
    dbName,
    compression: 'none',
    encryption: { keys: { u1: await keyFromPassphrase('correct horse', 'alice') }, writeKeyId: 'u1' },
  })
  await first.commitSnapshot({ location, snapshot: snapshotWith(secret) })
  const raw = (await first.backend.get('user-1/scopes/agent/main/snapshots/snapshot_latest.json'))!.body
  expect(sealed(raw)).toBe(true)
  expect(holds(raw, secret)).toBe(false)
  first.close()
  const reloaded = new IndexedDBStorage({
    dbName,
    encryption: { keys: { u1: await keyFromPassphrase('correct horse', 'alice') }, writeKeyId: 'u1' },
  })
  expect((await reloaded.loadSnapshot({ location }))?.data).toEqual({ messages: [secret] })
  reloaded.close()
  const wrong = new IndexedDBStorage({
    dbName,
    encryption: { keys: { u1: await keyFromPassphrase('battery staple', 'alice') }, writeKeyId: 'u1' },
  })
  await expect(wrong.loadSnapshot({ location })).rejects.toBeInstanceOf(CorruptError)
  wrong.close()
})

it('TieredStorage(IndexedDB -> remote) with encryption: sync sends the remote the same ciphertext IndexedDB holds', async () => {
  const remote = new MemoryStorage()
  const key = await keyFromPassphrase('correct horse', 'bob')
  const tiered = new TieredStorage({
    local: new IndexedDBStorage({ dbName: uniqueDbName() }),
    remote,
    encryption: { keys: { u1: key }, writeKeyId: 'u1' },
    name: uniqueDbName(),
  })
  try {
    const location = { sessionId: 'user-2', scope: 'agent', scopeId: 'main' }
    const secret = `SECRET-tiered-${Math.random()}`
    await tiered.commitSnapshot({ location, snapshot: snapshotWith(secret) })
    await tiered.sync()
    const key2 = 'user-2/scopes/agent/main/snapshots/snapshot_latest.json'
    const remoteBytes = (await remote.backend.get(key2))!.body
    expect(sealed(remoteBytes)).toBe(true)
    expect(holds(remoteBytes, secret)).toBe(false)
    expect(Array.from(remoteBytes)).toEqual(Array.from((await tiered.backend.local.get(key2))!.body))
  } finally {
    tiered.close()
  }
})
