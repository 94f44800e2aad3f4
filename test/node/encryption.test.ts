import 'fake-indexeddb/auto'
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint'
import { describe, expect, it } from 'vitest'
import {
  type Backend,
  BackendSnapshotStore,
  ConflictError,
  CorruptError,
  type EncryptionOptions,
  MemoryStorage,
  type Snapshot,
  type SnapshotLocation,
  type SnapshotStore,
  type StoreOptions,
  ValidationError,
  newSnapshotId,
  reencrypt,
} from 'snapshelf'
import { GenkitSessionStore, parseGenkitKey } from 'snapshelf/genkit'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
import { S3Storage } from 'snapshelf/s3'
import { StrandsStorage } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { historyKey, latestKey, manifestKey } from '../../src/core/keys.js'
import { s3Options, s3Server, uniquePrefix } from '../helpers/s3.js'

// Client-side encryption (issue 16): every tier and adapter seals after compression, binds each
// object to its key relative to the prefix, refuses plaintext, and stores nothing readable. Stored
// bytes are read from the backend underneath the store (below the encryption), never through it.

const aesKey = (usages: KeyUsage[] = ['encrypt', 'decrypt']) =>
  crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, usages) as Promise<CryptoKey>
const MAGIC = [0x89, 0x53, 0x48, 0x45]
const isSealed = (bytes: Uint8Array) => MAGIC.every((b, i) => bytes[i] === b)
const keyIdOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(6, 6 + bytes[5]!))
const contains = (bytes: Uint8Array, text: string) => Buffer.from(bytes).includes(Buffer.from(text))

let counter = 0
const newLocation = (): SnapshotLocation => ({ sessionId: `enc-${Date.now().toString(36)}-${counter++}`, scope: 'agent', scopeId: 'main' })
/** A snapshot holding a marker that must never appear in stored bytes. */
function secretSnapshot(tag: string): { snapshot: Snapshot; secret: string } {
  const secret = `SECRET-${tag}-${Math.random().toString(36).slice(2)}`
  return {
    secret,
    snapshot: {
      scope: 'agent',
      schemaVersion: '1.0',
      createdAt: new Date().toISOString(),
      data: { messages: [secret, secret] },
      appData: {},
    },
  }
}

async function corrupt(promise: Promise<unknown>): Promise<CorruptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(CorruptError)
  expect((error as CorruptError).code).toBe('ERR_CORRUPT')
  return error as CorruptError
}

async function keysUnder(backend: Backend, prefix: string): Promise<string[]> {
  return (await backend.list(prefix, { limit: 1000 })).entries.map((e) => e.key)
}

const k1 = await aesKey()
const k2 = await aesKey()
const encryption: EncryptionOptions = { keys: { k1 }, writeKeyId: 'k1' }

/** A tier under test: the store (with the options given) and the backend where its bytes really live. */
interface TierCase {
  name: string
  skip?: boolean
  make(
    options: StoreOptions,
  ): Promise<{ store: SnapshotStore & { prefix: string }; raw: Backend; rawRoot: string; done?: () => Promise<void> }>
}

const tiers: TierCase[] = [
  {
    name: 'MemoryStorage',
    make: async (options) => {
      const store = new MemoryStorage(options)
      return { store, raw: store.backend, rawRoot: '' }
    },
  },
  {
    name: 'S3Storage (Ceph)',
    skip: !s3Server,
    make: async (options) => {
      const store = new S3Storage(s3Options({ prefix: uniquePrefix('enc'), ...options }))
      return { store, raw: store.backend, rawRoot: `${store.prefix}/` }
    },
  },
  {
    name: 'IndexedDBStorage (fake-indexeddb)',
    make: async (options) => {
      const store = new IndexedDBStorage({ dbName: `enc-${Date.now()}-${counter++}`, ...options })
      return { store, raw: store.backend, rawRoot: '' }
    },
  },
  {
    name: 'HttpStorage → handler → MemoryStorage',
    make: async (options) => {
      // The server's storage has no key: the handler moves ciphertext it cannot read.
      const server = new MemoryStorage({ prefix: 'srv' })
      expect(server.encryption).toBeUndefined()
      const handle = createSnapshotHandler({ storage: server, basePath: '/api', authorize: () => true })
      const store = new HttpStorage({ baseUrl: 'http://local.test/api', fetch: (u, init) => handle(new Request(u, init)), ...options })
      return { store, raw: server.backend, rawRoot: 'srv/' }
    },
  },
  {
    name: 'TieredStorage (Memory → Memory), after sync',
    make: async (options) => {
      const remote = new MemoryStorage()
      const store = new TieredStorage({ local: new MemoryStorage(), remote, prefix: 'dev', autoSyncDelayMs: undefined, ...options })
      // What the remote holds after a sync is what matters: every case syncs before reading raw bytes.
      return { store, raw: remote.backend, rawRoot: '', done: async () => store.close() }
    },
  },
]

describe.each(tiers)('$name with encryption', ({ make, skip }) => {
  it.skipIf(skip)(
    'round trip: commit, save, load, manifest, list, updateLatest; stored bytes are sealed and hold no plaintext',
    async () => {
      const { store, raw, rawRoot, done } = await make({ encryption, compression: 'none' })
      try {
        const location = newLocation()
        const first = secretSnapshot('first')
        const { snapshotId } = await store.commitSnapshot({ location, snapshot: first.snapshot })
        const otherId = newSnapshotId()
        const second = secretSnapshot('second')
        await store.saveSnapshot({ location, snapshotId: otherId, isLatest: false, snapshot: second.snapshot })
        await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: first.secret } })
        expect(await store.loadSnapshot({ location })).toEqual(first.snapshot)
        expect(await store.loadSnapshot({ location, snapshotId })).toEqual(first.snapshot)
        expect(await store.loadSnapshot({ location, snapshotId: otherId })).toEqual(second.snapshot)
        expect((await store.loadManifest({ location })).updatedAt).toBe(first.secret)
        const { items } = await store.listSnapshots({ location })
        expect(items.map((i) => i.snapshotId)).toEqual([snapshotId, otherId].sort())
        expect(items.every((i) => i.storedBytes > 0)).toBe(true)
        const updated = await store.updateLatest({ location, mutate: (s) => ({ ...s!, appData: { n: 1 } }) })
        expect(updated.committed).toBe(true)
        expect((await store.loadSnapshot({ location }))?.appData).toEqual({ n: 1 })
        if ('sync' in store) await (store as TieredStorage).sync()
        const stored = await keysUnder(raw, `${rawRoot}${location.sessionId}/`)
        expect(stored.length).toBe(4) // latest, manifest, two history objects
        for (const key of stored) {
          const bytes = (await raw.get(key))!.body
          expect(isSealed(bytes), key).toBe(true)
          expect(keyIdOf(bytes)).toBe('k1')
          expect(contains(bytes, first.secret) || contains(bytes, second.secret), key).toBe(false)
        }
      } finally {
        await done?.()
      }
    },
  )

  it.skipIf(skip)('the same program without encryption stores the plaintext (the check above can fail)', async () => {
    const { store, raw, rawRoot, done } = await make({ compression: 'none' })
    try {
      const location = newLocation()
      const { snapshot, secret } = secretSnapshot('plain')
      await store.commitSnapshot({ location, snapshot })
      if ('sync' in store) await (store as TieredStorage).sync()
      const bytes = (await raw.get(rawRoot + latestKey('', location)))!.body
      expect(contains(bytes, secret)).toBe(true)
    } finally {
      await done?.()
    }
  })

  it.skipIf(skip)('plaintext planted in the backend is refused ("not encrypted"), naming the key', async () => {
    const { store, done } = await make({ encryption })
    try {
      const location = newLocation()
      const { snapshot } = secretSnapshot('planted')
      await store.commitSnapshot({ location, snapshot })
      // Planted through the tier's byte backend, below the encryption (for HTTP: on the server).
      const key = latestKey(store.prefix, location)
      await (store as unknown as { backend: Backend }).backend.put(key, new TextEncoder().encode(JSON.stringify(snapshot)))
      const error = await corrupt(store.loadSnapshot({ location }))
      expect(error.message).toMatch(/not encrypted/)
      expect(error.key).toBe(key)
    } finally {
      await done?.()
    }
  })
})

describe('snapshot metadata beside encryption', () => {
  it('is stored in plaintext beside sealed bytes (documented: metadata is never encrypted), and lists without any key', async () => {
    const sealed = new MemoryStorage({ encryption })
    const location = newLocation()
    const metadata = { title: 'visible to the bucket', turn: '7' }
    const { snapshot, secret } = secretSnapshot('m')
    const { snapshotId } = await sealed.commitSnapshot({ location, snapshot, metadata })
    const stored = await sealed.backend.get(historyKey('', location, snapshotId))
    expect(stored?.metadata).toEqual({ title: 'visible to the bucket', turn: '7' })
    expect(new TextDecoder().decode(stored!.body)).not.toContain(secret)
    // A reader without the key cannot open the payload but lists the metadata.
    const keyless = new BackendSnapshotStore({ backend: sealed.backend })
    expect((await keyless.listSnapshots({ location })).items[0]?.metadata).toEqual(metadata)
    await corrupt(keyless.loadSnapshot({ location, snapshotId }))
    expect((await sealed.loadSnapshot({ location, snapshotId }))?.data.messages).toEqual([secret, secret])
  })
})

describe('what a reader is told', () => {
  it('a storage without encryption reading ciphertext says it is encrypted and which key id it needs', async () => {
    const sealed = new MemoryStorage({ encryption })
    const location = newLocation()
    await sealed.commitSnapshot({ location, snapshot: secretSnapshot('x').snapshot })
    const plain = new BackendSnapshotStore({ backend: sealed.backend })
    const error = await corrupt(plain.loadSnapshot({ location }))
    expect(error.message).toMatch(/is encrypted with key id "k1"/)
    expect(error.key).toBe(latestKey('', location))
    // The manifest path and updateLatest decode the same way.
    await sealed.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: 'now' } })
    await corrupt(plain.loadManifest({ location }))
    await corrupt(plain.updateLatest({ location, mutate: (s) => s }))
  })

  it('a missing key id is ERR_CORRUPT naming the key and the key id', async () => {
    const writer = new MemoryStorage({ encryption })
    const location = newLocation()
    await writer.commitSnapshot({ location, snapshot: secretSnapshot('x').snapshot })
    const reader = new BackendSnapshotStore({ backend: writer.backend, encryption: { keys: { k2 }, writeKeyId: 'k2' } })
    const error = await corrupt(reader.loadSnapshot({ location }))
    expect(error.message).toMatch(/key id "k1"/)
    expect(error.key).toBe(latestKey('', location))
  })

  it('a wrong key under the right id is ERR_CORRUPT naming the key', async () => {
    const writer = new MemoryStorage({ encryption })
    const location = newLocation()
    await writer.commitSnapshot({ location, snapshot: secretSnapshot('x').snapshot })
    const reader = new BackendSnapshotStore({ backend: writer.backend, encryption: { keys: { k1: k2 }, writeKeyId: 'k1' } })
    const error = await corrupt(reader.loadSnapshot({ location }))
    expect(error.message).toMatch(/does not decrypt/)
    expect(error.key).toBe(latestKey('', location))
  })
})

describe('bytes bound to their key', () => {
  async function sealedStore() {
    const store = new MemoryStorage({ encryption, prefix: 'app' })
    const location = newLocation()
    const { snapshotId } = await store.commitSnapshot({ location, snapshot: secretSnapshot('bound').snapshot })
    const bytes = (await store.backend.get(historyKey('app', location, snapshotId)))!.body
    return { store, location, snapshotId, bytes }
  }

  it('copied to another snapshot id, to latest, to another scope id, scope and session: ERR_CORRUPT naming the destination', async () => {
    const { store, location, bytes } = await sealedStore()
    const otherId = newSnapshotId()
    const elsewhere: [SnapshotLocation, string | undefined][] = [
      [location, otherId],
      [location, undefined],
      [{ ...location, scopeId: 'other' }, undefined],
      [{ ...location, scope: 'multiAgent' }, undefined],
      [{ ...location, sessionId: `${location.sessionId}-b` }, undefined],
    ]
    for (const [where, snapshotId] of elsewhere) {
      const key = snapshotId ? historyKey('app', where, snapshotId) : latestKey('app', where)
      await store.backend.put(key, bytes)
      const error = await corrupt(store.loadSnapshot({ location: where, snapshotId }))
      expect(error.key).toBe(key)
    }
    // A manifest is bound too.
    await store.backend.put(manifestKey('app', location), bytes)
    await corrupt(store.loadManifest({ location }))
  })

  it('the same relative key under another prefix opens (what tiered sync and an HTTP server rely on)', async () => {
    const { location, snapshotId, bytes } = await sealedStore()
    const other = new MemoryStorage({ encryption, prefix: 'moved/elsewhere' })
    await other.backend.put(historyKey('moved/elsewhere', location, snapshotId), bytes)
    expect(await other.loadSnapshot({ location, snapshotId })).not.toBeNull()
  })

  it('tampering (ciphertext, tag, IV, key id, version) and truncation: ERR_CORRUPT naming the key', async () => {
    const { store, location, snapshotId, bytes } = await sealedStore()
    const key = historyKey('app', location, snapshotId)
    const flip = (at: number) => {
      const copy = bytes.slice()
      copy[at]! ^= 1
      return copy
    }
    const twoKeys = new BackendSnapshotStore({ backend: store.backend, prefix: 'app', encryption: { keys: { k1, k2 }, writeKeyId: 'k1' } })
    const variants = [
      flip(bytes.length - 1), // tag
      flip(bytes.length - 20), // ciphertext
      flip(6 + 2 + 3), // IV
      flip(4), // version
      bytes.subarray(0, bytes.length - 1),
      bytes.subarray(0, 30),
      bytes.subarray(0, 7),
    ]
    for (const variant of variants) {
      await store.backend.put(key, variant)
      const error = await corrupt(store.loadSnapshot({ location, snapshotId }))
      expect(error.key).toBe(key)
    }
    // The key id renamed to another key of the ring: it is part of the associated data.
    const renamed = bytes.slice()
    renamed[7] = '2'.charCodeAt(0)
    await store.backend.put(key, renamed)
    await corrupt(twoKeys.loadSnapshot({ location, snapshotId }))
    await store.backend.put(key, bytes)
    expect(await store.loadSnapshot({ location, snapshotId })).not.toBeNull()
  })

  it('every object is sealed with a fresh IV: two writes of one snapshot differ', async () => {
    const store = new MemoryStorage({ encryption })
    const location = newLocation()
    const { snapshot } = secretSnapshot('iv')
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot })
    const a = (await store.backend.get(latestKey('', location)))!.body
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot })
    const b = (await store.backend.get(latestKey('', location)))!.body
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
  })
})

describe('rotation', () => {
  it('add a key and move writeKeyId: old objects stay readable, new ones use the new key; dropping the old key says which is missing', async () => {
    const before = new MemoryStorage({ encryption })
    const location = newLocation()
    const old = secretSnapshot('old')
    const { snapshotId: oldId } = await before.commitSnapshot({ location, snapshot: old.snapshot })
    const rotated = new BackendSnapshotStore({ backend: before.backend, encryption: { keys: { k1, k2 }, writeKeyId: 'k2' } })
    expect(await rotated.loadSnapshot({ location, snapshotId: oldId })).toEqual(old.snapshot)
    const fresh = secretSnapshot('new')
    const { snapshotId: newId } = await rotated.commitSnapshot({ location, snapshot: fresh.snapshot })
    expect(keyIdOf((await before.backend.get(historyKey('', location, newId)))!.body)).toBe('k2')
    expect(keyIdOf((await before.backend.get(historyKey('', location, oldId)))!.body)).toBe('k1')
    // Re-encrypting by load + save (latest here; history is write-once, so a history object
    // moves to a new key by delete + save under the same id).
    await rotated.saveSnapshot({
      location,
      snapshotId: 'latest',
      isLatest: true,
      snapshot: (await rotated.loadSnapshot({ location, snapshotId: oldId }))!,
    })
    await rotated.deleteSnapshot({ location, snapshotId: oldId })
    await rotated.saveSnapshot({ location, snapshotId: oldId, isLatest: false, snapshot: old.snapshot })
    const onlyNew = new BackendSnapshotStore({ backend: before.backend, encryption: { keys: { k2 }, writeKeyId: 'k2' } })
    expect(await onlyNew.loadSnapshot({ location, snapshotId: oldId })).toEqual(old.snapshot)
    expect(await onlyNew.loadSnapshot({ location, snapshotId: newId })).toEqual(fresh.snapshot)
    expect(await onlyNew.loadSnapshot({ location })).toEqual(old.snapshot)
    const stale = new BackendSnapshotStore({ backend: before.backend, encryption: { keys: { k1 }, writeKeyId: 'k1' } })
    expect((await corrupt(stale.loadSnapshot({ location, snapshotId: newId }))).message).toMatch(/key id "k2"/)
  })
})

describe('reencrypt', () => {
  it('moves every object sealed with an old key to writeKeyId (snapshots, manifests, adapter keys), reports plaintext, then the old key can go', async () => {
    const old = new MemoryStorage({ encryption, prefix: 'p' })
    const location = newLocation()
    const first = secretSnapshot('r1')
    const { snapshotId } = await old.commitSnapshot({ location, snapshot: first.snapshot })
    await old.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: 'then' } })
    await new StrandsStorage({ storage: old }).write('notes.json', new TextEncoder().encode('{"n":1}'))
    await old.backend.put('p/stray.txt', new TextEncoder().encode('plain'))
    const rotated = new BackendSnapshotStore({ backend: old.backend, prefix: 'p', encryption: { keys: { k1, k2 }, writeKeyId: 'k2' } })
    const fresh = await rotated.commitSnapshot({ location: { ...location, scopeId: 'other' }, snapshot: first.snapshot })
    // One session only first.
    const one = await reencrypt({ storage: rotated, folder: location.sessionId })
    expect(one).toEqual({ reencrypted: 3, current: 2, plaintext: [] })
    const all = await reencrypt({ storage: rotated })
    expect(all).toEqual({ reencrypted: 1, current: 5, plaintext: ['p/stray.txt'] })
    const onlyK2 = new BackendSnapshotStore({ backend: old.backend, prefix: 'p', encryption: { keys: { k2 }, writeKeyId: 'k2' } })
    expect(await onlyK2.loadSnapshot({ location, snapshotId })).toEqual(first.snapshot)
    expect(await onlyK2.loadSnapshot({ location: { ...location, scopeId: 'other' }, snapshotId: fresh.snapshotId })).toEqual(first.snapshot)
    expect((await onlyK2.loadManifest({ location })).updatedAt).toBe('then')
    expect(new TextDecoder().decode((await new StrandsStorage({ storage: onlyK2 }).read('notes.json'))!)).toBe('{"n":1}')
  })

  it('a write racing it is re-read, never overwritten; a storage without encryption, or a TieredStorage, is refused', async () => {
    const store = new BackendSnapshotStore({ backend: new MemoryStorage().backend, encryption })
    const location = newLocation()
    await store.commitSnapshot({ location, snapshot: secretSnapshot('race').snapshot })
    const rotated = new BackendSnapshotStore({ backend: store.backend, encryption: { keys: { k1, k2 }, writeKeyId: 'k2' } })
    const latest = secretSnapshot('racer').snapshot
    const put = store.backend.put.bind(store.backend)
    let raced = false
    store.backend.put = async (key, body, options) => {
      if (!raced && key === latestKey('', location)) {
        raced = true
        await rotated.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: latest })
      }
      return put(key, body, options)
    }
    const result = await reencrypt({ storage: rotated })
    expect(raced).toBe(true)
    expect(result.reencrypted + result.current).toBe(2)
    expect(await rotated.loadSnapshot({ location })).toEqual(latest)
    await expect(reencrypt({ storage: new MemoryStorage() })).rejects.toBeInstanceOf(ValidationError)
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage(), encryption, name: 'enc-r' })
    try {
      await expect(reencrypt({ storage: tiered })).rejects.toBeInstanceOf(ValidationError)
    } finally {
      tiered.close()
    }
  })
})

describe('the rest of the contract under encryption', () => {
  it('a retried commit with the same id and snapshot succeeds (fresh IV, same content); a different snapshot conflicts', async () => {
    const store = new MemoryStorage({ encryption })
    const location = newLocation()
    const { snapshot } = secretSnapshot('retry')
    const { snapshotId } = await store.commitSnapshot({ location, snapshot })
    await store.commitSnapshot({ location, snapshot, snapshotId })
    const other = secretSnapshot('other').snapshot
    await expect(store.commitSnapshot({ location, snapshot: other, snapshotId })).rejects.toBeInstanceOf(ConflictError)
  })

  it('watchLatest hears decrypted changes; listings read no payload', async () => {
    const store = new MemoryStorage({ encryption })
    const location = newLocation()
    await store.commitSnapshot({ location, snapshot: secretSnapshot('a').snapshot })
    const heard: Snapshot[] = []
    const changed = new Promise<void>((resolve) => {
      const stop = store.watchLatest({
        location,
        intervalMs: 5,
        onChange: (s) => {
          heard.push(s)
          stop()
          resolve()
        },
      })
    })
    await new Promise((r) => setTimeout(r, 30))
    const next = secretSnapshot('b').snapshot
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: next })
    await changed
    expect(heard).toEqual([next])
    const get = store.backend.get.bind(store.backend)
    let gets = 0
    store.backend.get = async (...args) => {
      gets++
      return get(...args)
    }
    expect((await store.listSnapshots({ location })).items.length).toBe(1)
    expect(await store.listSnapshotIds({ location })).toHaveLength(1)
    expect(gets).toBe(0)
  })
})

describe('validation at construction', () => {
  it('unknown writeKeyId, a key that is not an AES-GCM encrypt+decrypt CryptoKey, a bad key id: ERR_VALIDATION naming the field', async () => {
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    const cbc = await crypto.subtle.generateKey({ name: 'AES-CBC', length: 256 }, false, ['encrypt', 'decrypt'])
    const encryptOnly = await aesKey(['encrypt'])
    const bad: [unknown, string][] = [
      [{ keys: { k1 }, writeKeyId: 'k2' }, 'encryption.writeKeyId'],
      [{ keys: { k1 } }, 'encryption.writeKeyId'],
      [{ keys: { k1: hmac }, writeKeyId: 'k1' }, 'encryption.keys.k1'],
      [{ keys: { k1: cbc }, writeKeyId: 'k1' }, 'encryption.keys.k1'],
      [{ keys: { k1: encryptOnly }, writeKeyId: 'k1' }, 'encryption.keys.k1'],
      [{ keys: { k1: 'secret' }, writeKeyId: 'k1' }, 'encryption.keys.k1'],
      [{ keys: { 'a/b': k1 }, writeKeyId: 'a/b' }, 'encryption.keys'],
      [{ keys: { 'a b': k1 }, writeKeyId: 'a b' }, 'encryption.keys'],
      [{ keys: { '': k1 }, writeKeyId: '' }, 'encryption.keys'],
      [{ keys: { é: k1 }, writeKeyId: 'é' }, 'encryption.keys'],
      [{ keys: null, writeKeyId: 'k1' }, 'encryption.keys'],
      [null, 'encryption.keys'],
    ]
    for (const [option, field] of bad) {
      let error: unknown
      try {
        new MemoryStorage({ encryption: option as EncryptionOptions })
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(option)).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field).toBe(field)
    }
    // A key id named like an Object.prototype member is an ordinary key id.
    const odd = Object.defineProperty({ constructor: k2 }, '__proto__', { value: k1, enumerable: true }) as Record<string, CryptoKey>
    for (const writeKeyId of ['__proto__', 'constructor']) {
      const store = new MemoryStorage({ encryption: { keys: odd, writeKeyId } })
      const location = newLocation()
      await store.commitSnapshot({ location, snapshot: secretSnapshot('odd').snapshot })
      expect(keyIdOf((await store.backend.get(latestKey('', location)))!.body)).toBe(writeKeyId)
      expect(await store.loadSnapshot({ location })).not.toBeNull()
    }
    expect(() => new MemoryStorage({ encryption: { keys: { k1 }, writeKeyId: 'toString' } })).toThrow(ValidationError)
    // Every tier validates the same way, before any I/O; and every adapter over a storage-like target.
    expect(() => new IndexedDBStorage({ encryption: { keys: { k1 }, writeKeyId: 'nope' } })).toThrow(ValidationError)
    expect(() => new HttpStorage({ baseUrl: 'http://x.test', encryption: { keys: { k1 }, writeKeyId: 'nope' } })).toThrow(ValidationError)
    const badTarget = { backend: new MemoryStorage().backend, prefix: '', encryption: { keys: { k1: hmac }, writeKeyId: 'k1' } }
    expect(() => new StrandsStorage({ storage: badTarget })).toThrow(ValidationError)
    expect(() => new SnapshelfCheckpointSaver({ storage: badTarget })).toThrow(ValidationError)
    expect(() => new GenkitSessionStore({ storage: badTarget })).toThrow(/storage\.encryption\.keys\.k1/)
  })
})

describe('adapters over an encrypted storage', () => {
  it('StrandsStorage: round trip, sealed bytes, refused by a storage without the key; plaintext planted refused', async () => {
    const storage = new MemoryStorage({ encryption, prefix: 'p', compression: 'none' })
    const strands = new StrandsStorage({ storage })
    const secret = `SECRET-strands-${Math.random()}`
    await strands.write('session/s1/scopes/agent/a/snapshots/snapshot_latest.json', new TextEncoder().encode(JSON.stringify({ secret })))
    expect(new TextDecoder().decode((await strands.read('session/s1/scopes/agent/a/snapshots/snapshot_latest.json'))!)).toContain(secret)
    const stored = (await storage.backend.get('p/session/s1/scopes/agent/a/snapshots/snapshot_latest.json'))!.body
    expect(isSealed(stored)).toBe(true)
    expect(contains(stored, secret)).toBe(false)
    const plain = new StrandsStorage({ storage: { backend: storage.backend, prefix: 'p' } })
    expect((await corrupt(plain.read('session/s1/scopes/agent/a/snapshots/snapshot_latest.json'))).message).toMatch(/key id "k1"/)
    await storage.backend.put('p/notes.json', new TextEncoder().encode('{}'))
    expect((await corrupt(strands.read('notes.json'))).message).toMatch(/not encrypted/)
    // Without encryption, a caller's bytes that merely look sealed come back as written.
    const lookalike = Uint8Array.from([...MAGIC, 1, 2, 0x6b, 0x31, 9, 9, 9])
    await plain.write('lookalike.bin', lookalike)
    expect(await plain.read('lookalike.bin')).toEqual(lookalike)
  })

  it('SnapshelfCheckpointSaver (LangGraph): put + getTuple round trip; every stored object sealed', async () => {
    const storage = new MemoryStorage({ encryption, compression: 'none' })
    const saver = new SnapshelfCheckpointSaver({ storage })
    const secret = `SECRET-langgraph-${Math.random()}`
    const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { messages: [secret] }, channel_versions: { messages: 1 } }
    const config = await saver.put(
      { configurable: { thread_id: 't1' } },
      checkpoint,
      { source: 'input', step: -1, parents: {} },
      { messages: 1 },
    )
    await saver.putWrites(config, [['messages', secret]], 'task-1')
    const tuple = await saver.getTuple(config)
    expect(tuple?.checkpoint.channel_values).toEqual({ messages: [secret] })
    expect(tuple?.pendingWrites?.[0]?.[2]).toBe(secret)
    const keys = await keysUnder(storage.backend, '')
    expect(keys.length).toBeGreaterThanOrEqual(3)
    for (const key of keys) {
      const bytes = (await storage.backend.get(key))!.body
      expect(isSealed(bytes), key).toBe(true)
      expect(contains(bytes, secret), key).toBe(false)
    }
  })

  it('GenkitSessionStore: save + get round trip over sealed bytes', async () => {
    const storage = new MemoryStorage({ encryption, compression: 'none' })
    const store = new GenkitSessionStore({ storage })
    const secret = `SECRET-genkit-${Math.random()}`
    const id = await store.saveSnapshot(
      undefined,
      () => ({ sessionId: 's1', createdAt: new Date().toISOString(), status: 'completed', state: { secret } }) as never,
    )
    const found = await store.getSnapshot({ snapshotId: id! })
    expect(JSON.stringify(found)).toContain(secret)
    for (const key of await keysUnder(storage.backend, '')) {
      const bytes = (await storage.backend.get(key))!.body
      expect(contains(bytes, secret), key).toBe(false)
      // A lineage entry is create-only with bytes that are a function of its key (two devices
      // writing it must agree byte for byte), so it stays plain: it says only what its key says.
      const lineage = parseGenkitKey(key)
      if (lineage?.kind === 'lineage') {
        const { sessionId, snapshotId, rev, change } = JSON.parse(new TextDecoder().decode(bytes))
        expect({ sessionId, snapshotId, rev, change }).toEqual({
          sessionId: lineage.id,
          snapshotId: lineage.snapshotId,
          rev: lineage.rev,
          change: lineage.change,
        })
      } else expect(isSealed(bytes), key).toBe(true)
    }
  })
})

describe('tiered sync moves ciphertext unchanged', () => {
  it('local and remote hold identical sealed bytes; a second device and a direct reader of the remote open them', async () => {
    const remote = new MemoryStorage({ prefix: 'bucket' })
    const a = new TieredStorage({ local: new MemoryStorage(), remote, prefix: 'deviceA', encryption, name: 'enc-a' })
    try {
      const location = newLocation()
      const { snapshot, secret } = secretSnapshot('sync')
      const { snapshotId } = await a.commitSnapshot({ location, snapshot })
      await a.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
      await a.sync()
      const remoteKeys = await keysUnder(remote.backend, `bucket/${location.sessionId}/`)
      expect(remoteKeys.length).toBe(3)
      for (const key of remoteKeys) {
        const remoteBytes = (await remote.backend.get(key))!.body
        const localBytes = (await a.backend.local.get(`deviceA/${key.slice('bucket/'.length)}`))!.body
        expect(Buffer.from(remoteBytes).equals(Buffer.from(localBytes)), key).toBe(true)
        expect(contains(remoteBytes, secret)).toBe(false)
      }
      const direct = new BackendSnapshotStore({ backend: remote.backend, prefix: 'bucket', encryption })
      expect(await direct.loadSnapshot({ location, snapshotId })).toEqual(snapshot)
      const b = new TieredStorage({ local: new MemoryStorage(), remote, encryption, name: 'enc-b' })
      try {
        await b.hydrate({ location })
        expect(await b.loadSnapshot({ location })).toEqual(snapshot)
        expect(await b.loadSnapshot({ location, snapshotId })).toEqual(snapshot)
      } finally {
        b.close()
      }
    } finally {
      a.close()
    }
  })

  it('a tier given encryption makes the tiered store encrypt (nothing reaches it in plaintext)', async () => {
    const remote = new MemoryStorage()
    const tiered = new TieredStorage({ local: new MemoryStorage({ encryption }), remote, name: 'enc-c' })
    try {
      const location = newLocation()
      await tiered.commitSnapshot({ location, snapshot: secretSnapshot('tier').snapshot })
      await tiered.sync()
      expect(isSealed((await remote.backend.get(latestKey('', location)))!.body)).toBe(true)
    } finally {
      tiered.close()
    }
  })

  it('when both devices changed latest, the later-dated snapshot wins on both: sealed content is opened to date it', async () => {
    for (const laterOn of ['first', 'second'] as const) {
      const remote = new MemoryStorage()
      const one = new TieredStorage({ local: new MemoryStorage(), remote, encryption, name: `enc-d1-${laterOn}` })
      const two = new TieredStorage({ local: new MemoryStorage(), remote, encryption, name: `enc-d2-${laterOn}` })
      try {
        const location = newLocation()
        const early = { ...secretSnapshot('early').snapshot, createdAt: '2026-01-01T00:00:01.000Z' }
        const late = { ...secretSnapshot('late').snapshot, createdAt: '2026-01-01T00:00:09.000Z' }
        await one.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: laterOn === 'first' ? late : early })
        await two.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: laterOn === 'first' ? early : late })
        await one.sync()
        await two.sync()
        await one.sync()
        expect((await one.loadSnapshot({ location }))?.createdAt, laterOn).toBe(late.createdAt)
        expect((await two.loadSnapshot({ location }))?.createdAt, laterOn).toBe(late.createdAt)
      } finally {
        one.close()
        two.close()
      }
    }
  })
})

/** Turn `turn` of a conversation that grows a message of numbers a turn (they compress like prose). */
function grownSnapshot(messages: { text: string }[], turn: number): Snapshot {
  const prices = Array.from({ length: 150 }, (_, i) => ((i + 1) * 7919 * (turn + 3)) % 9973).join(' ')
  messages.push({ text: `turn ${turn}: the agent looked up flights and hotels at ${prices}` })
  return { scope: 'agent', schemaVersion: '1.0', createdAt: `t${turn}`, data: { messages: structuredClone(messages) }, appData: {} }
}

describe('encryption with delta history', () => {
  it('deltas and whole copies are sealed for their own keys; a fresh store reads every snapshot; moved bytes fail to open', async () => {
    const store = new MemoryStorage({ encryption })
    const location = { sessionId: 'enc-delta', scope: 'agent', scopeId: 'a' }
    const messages: { text: string }[] = []
    const saved = new Map<string, string>()
    for (let turn = 0; turn < 8; turn++) {
      const snapshot = grownSnapshot(messages, turn)
      saved.set((await store.commitSnapshot({ location, snapshot })).snapshotId, JSON.stringify(snapshot))
    }
    const ids = [...saved.keys()]
    const whole = new MemoryStorage({ encryption, dedup: false })
    await whole.commitSnapshot({ location, snapshot: JSON.parse(saved.get(ids.at(-1)!)!) })
    const newestStored = (await store.listSnapshots({ location })).items.at(-1)!.storedBytes
    expect(newestStored * 3).toBeLessThan((await whole.listSnapshots({ location })).items[0]!.storedBytes) // a delta, sealed
    await store.prune({ location, keepLast: 4 })
    for (const id of ids.slice(0, 4)) saved.delete(id)
    const reader = new BackendSnapshotStore({ backend: store.backend, encryption })
    for (const [id, json] of saved) expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: id }))).toBe(json)
    const { entries } = await store.backend.list('enc-delta/', { limit: 100 })
    const part = entries.find((e) => e.key.includes('/parts/'))!
    expect(part).toBeDefined()
    for (const e of entries) expect(new TextDecoder().decode((await store.backend.get(e.key))!.body)).not.toContain('flights')
    // A delta's bytes planted under another id do not open: the key path is their associated data.
    const newest = historyKey('', location, ids.at(-1)!)
    await store.backend.put(historyKey('', location, ids[4]!), (await store.backend.get(newest))!.body)
    await expect(reader.loadSnapshot({ location, snapshotId: ids[4]! })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    expect(await reader.loadSnapshot({ location, snapshotId: ids.at(-1)! })).not.toBeNull()
  })

  it('the newest snapshot by id comes from latest in two parallel GETs, sealed under a long key id too', async () => {
    const longId = `key-${'x'.repeat(60)}`
    const keyring = { keys: { [longId]: k1 }, writeKeyId: longId }
    const store = new MemoryStorage({ encryption: keyring })
    const location = { sessionId: 'enc-newest', scope: 'agent', scopeId: 'a' }
    const messages: { text: string }[] = []
    let newest = ''
    let json = ''
    for (let turn = 0; turn < 6; turn++) {
      const snapshot = grownSnapshot(messages, turn)
      newest = (await store.commitSnapshot({ location, snapshot })).snapshotId
      json = JSON.stringify(snapshot)
    }
    const gets: string[] = []
    const backend = store.backend
    const counting = {
      get: (k: string, o?: { signal?: AbortSignal }) => {
        gets.push(k)
        return backend.get(k, o)
      },
      head: backend.head.bind(backend),
      put: backend.put.bind(backend),
      delete: backend.delete.bind(backend),
      list: backend.list.bind(backend),
    }
    const reader = new BackendSnapshotStore({ backend: counting, encryption: keyring })
    expect(JSON.stringify(await reader.loadSnapshot({ location, snapshotId: newest }))).toBe(json)
    // One round trip: latest is fetched beside the delta (not after it), and no listing is made.
    expect(gets.map((k) => k.split('/').pop()).sort()).toEqual([`snapshot_${newest}.json`, 'snapshot_latest.json'].sort())
  })
})
