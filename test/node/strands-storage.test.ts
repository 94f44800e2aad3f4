import { SessionManager } from '@strands-agents/sdk'
import { InMemoryStorage } from '@strands-agents/sdk/storage'
import { afterAll, describe, expect, it } from 'vitest'
import { BackendSnapshotStore, MemoryBackend, MemoryStorage, type Backend } from 'snapshelf'
import { HttpStorage } from 'snapshelf/http'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { StrandsStorage } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { countingFetch, describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'
import { RecordingBackend } from '../helpers/recording-backend.js'

// StrandsStorage's own semantics, beyond what the differential test (strands-differential.test.ts)
// compares with Strands' InMemoryStorage: refusals before any I/O, the codec, typed errors,
// Strands' markers, and listing that pushes down and pages.

const enc = (text: string) => new TextEncoder().encode(text)
const dec = (bytes: Uint8Array | null) => bytes && new TextDecoder().decode(bytes)

/** Every key and its bytes, straight from the backend. */
async function contents(backend: Backend): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {}
  for (const { key } of (await backend.list('')).entries) out[key] = [...(await backend.get(key))!.body]
  return out
}

const gzipOf = async (bytes: Uint8Array) =>
  new Uint8Array(
    await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer(),
  )

describe('StrandsStorage: construction', () => {
  it('takes any snapshelf storage, and refuses anything else as ERR_VALIDATION', () => {
    for (const storage of [
      new MemoryStorage(),
      new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage() }),
      new HttpStorage({ baseUrl: 'http://x/api' }),
    ]) {
      expect(new StrandsStorage({ storage })).toBeInstanceOf(StrandsStorage)
    }
    for (const storage of [
      undefined,
      null,
      {},
      { backend: {} },
      { backend: new MemoryBackend() },
      { backend: new MemoryBackend(), prefix: '../x' },
    ]) {
      expect(() => new StrandsStorage({ storage: storage as never })).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }))
    }
    expect(() => new StrandsStorage({ storage: { backend: new MemoryBackend(), prefix: '', compression: 'br' as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'storage.compression' }),
    )
  })
})

describe('StrandsStorage: keys as Strands normalises them', () => {
  it('collapses slash runs and drops leading and trailing slashes, like InMemoryStorage', async () => {
    const storage = new StrandsStorage({ storage: new MemoryStorage({ prefix: 'p' }) })
    const theirs = new InMemoryStorage()
    for (const s of [storage, theirs]) await s.write('//session//s1/notes.json/', enc('{"a":1}'))
    expect(await storage.list('')).toEqual(['session/s1/notes.json'])
    expect(await storage.list('')).toEqual(await theirs.list(''))
    expect(dec(await storage.read('/session/s1/notes.json'))).toBe('{"a":1}')
    expect(await storage.namespace('/session/').namespace('s1').list('')).toEqual(['notes.json'])
  })

  it("a namespace given with a trailing slash lists the view's keys (Strands' own views slice one character too many)", async () => {
    const ours = new StrandsStorage({ storage: new MemoryStorage() })
    const theirs = new InMemoryStorage()
    for (const s of [ours, theirs]) await s.namespace('a/').write('key', enc('1'))
    expect(await ours.list('')).toEqual(await theirs.list('')) // both stored 'a/key'
    expect(await ours.namespace('a/').list('')).toEqual(['key'])
    // Pinned: Strands 1.19 answers ['ey'] here (its view prefix is 'a//', so it slices 3 characters off 'a/key').
    expect(await theirs.namespace('a/').list('')).toEqual(['ey'])
    expect(await ours.namespace('a').namespace('').list('')).toEqual(['key'])
  })

  it('namespaces compose and never let a key out: .. is refused, and the root is the storage prefix', async () => {
    const backend = new RecordingBackend()
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, prefix: 'tenants/acme' }) })
    const deep = storage.namespace('x').namespace('y/z')
    await deep.write('k', enc('v'))
    expect(await storage.list('')).toEqual(['x/y/z/k'])
    expect(Object.keys(await contents(backend))).toEqual(['tenants/acme/x/y/z/k'])
    expect(() => deep.namespace('../../..')).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }))
    await expect(deep.read('../k')).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
  })
})

describe('StrandsStorage: bad input is ERR_VALIDATION before any I/O, and nothing stored changes', () => {
  // Strands refuses these (normalizeKey): empty, `..`, backslash. Note: Strands does NOT refuse a
  // leading slash (it is dropped: '/a' is 'a') nor control characters; we refuse the latter.
  const strandsRefuses = ['', '/', '///', '..', 'a/..', '../a', 'a/../b', 'a\\b', '\\']
  // Ours only (see src/adapters/strands/keys.ts): Strands' InMemoryStorage would take these.
  const oursRefuses = [
    '.',
    'a/./b',
    './a',
    '.snapshelf/outbox/x!put!1',
    '.hidden',
    '...',
    'a\u0000b',
    'a\nb',
    'tab\there',
    'del\u007f',
    'a\uffff',
    'lone\ud800',
    'lone\udc00x',
    'x'.repeat(1025),
    `${'é'.repeat(512)}x`, // 1025 bytes of UTF-8
  ]
  const notStrings = [42, null, undefined, {}, ['a']]

  it('Strands refuses the same keys (its own InMemoryStorage, for comparison)', async () => {
    const theirs = new InMemoryStorage()
    for (const key of strandsRefuses)
      await expect(theirs.write(key, enc('x')), JSON.stringify(key)).rejects.toMatchObject({ name: 'StorageError' })
    for (const key of oursRefuses.slice(0, 11)) await expect(theirs.write(key, enc('x')), JSON.stringify(key)).resolves.toBeUndefined()
  })

  it('write, read, delete, list and namespace refuse without a single backend call', async () => {
    const backend = new RecordingBackend()
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, prefix: 'p' }) })
    await storage.write('keep/me', enc('safe'))
    const before = await contents(backend)
    backend.calls = []
    for (const key of [...strandsRefuses, ...oursRefuses, ...notStrings] as string[]) {
      for (const call of [() => storage.write(key, enc('x')), () => storage.read(key), () => storage.delete(key)]) {
        await expect(call(), JSON.stringify(key)).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'key' })
      }
    }
    for (const prefix of ['..', 'a/..', 'a/../', 'a\\', 'a/./', './', '.snapshelf/', 'x\u0001', 'lone\udc00', 42 as never]) {
      await expect(storage.list(prefix), JSON.stringify(prefix)).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'prefix' })
    }
    for (const prefix of ['..', 'a/..', '\\', '.', '.snapshelf', 'a/./b', 'x\u0000', null as never]) {
      expect(() => storage.namespace(prefix), JSON.stringify(prefix)).toThrow(
        expect.objectContaining({ code: 'ERR_VALIDATION', field: 'prefix' }),
      )
    }
    for (const data of ['text', [1, 2], new ArrayBuffer(2), null, undefined, new Uint16Array(2)]) {
      await expect(storage.write('keep/other', data as never)).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'data' })
    }
    expect(backend.calls).toEqual([])
    expect(await contents(backend)).toEqual(before)
  })

  it('a value larger than the storage takes is ERR_TOO_LARGE before any I/O', async () => {
    const backend = new RecordingBackend()
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, maxDecodedBytes: 1000 }) })
    await expect(storage.write('big', new Uint8Array(1001))).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' })
    expect(backend.calls).toEqual([])
    await storage.write('fits', new Uint8Array(1000))
    expect(await storage.read('fits')).toHaveLength(1000)
  })

  it('a listing prefix cut inside a surrogate pair still lists (pushed down without its dangling half)', async () => {
    const backend = new RecordingBackend()
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend }) })
    for (const key of ['notes/😀.md', 'notes/😁.md', 'notes/plain.md']) await storage.write(key, enc(key))
    backend.calls = []
    expect(await storage.list('notes/\ud83d')).toEqual(['notes/😀.md', 'notes/😁.md'])
    expect(await new InMemoryStorage().list('notes/\ud83d')).toEqual([])
    expect(backend.calls).toEqual(['list notes/ after= limit=1000'])
  })
})

describe('StrandsStorage: bytes', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['one byte 1f', new Uint8Array([0x1f])],
    ['JSON', enc('{"messages":[]}')],
    ['binary', Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256)],
    ['1f 8b then garbage (looks like gzip, is not)', new Uint8Array([0x1f, 0x8b, 1, 2, 3])],
  ]

  for (const compression of ['gzip', 'none'] as const) {
    it(`compression ${compression}: every value reads back exactly as written, a caller's own gzip included`, async () => {
      const backend = new MemoryBackend()
      const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, compression }) })
      const own = await gzipOf(enc('already gzipped by the caller'))
      for (const [name, bytes] of [...cases, ['a real gzip of the caller', own] as [string, Uint8Array]]) {
        await storage.write(name, bytes)
        expect([...(await storage.read(name))!], name).toEqual([...bytes])
        const stored = (await backend.get(name))!.body
        const magic = stored[0] === 0x1f && stored[1] === 0x8b
        // Gzip storages gzip everything; plain ones store as given, except bytes that would read
        // as gzip: those get exactly one layer, which the read takes off.
        const startsLikeGzip = bytes[0] === 0x1f && bytes[1] === 0x8b
        expect(magic, name).toBe(compression === 'gzip' || startsLikeGzip)
        if (compression === 'none' && !startsLikeGzip) expect([...stored], name).toEqual([...bytes])
      }
    })
  }

  it('what Strands writes itself (plain JSON, straight into the bucket) reads back, whatever the compression', async () => {
    const backend = new MemoryBackend()
    await backend.put('p/session/s1/scopes/agent/a/snapshots/snapshot_latest.json', enc('{\n  "scope": "agent"\n}'))
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, prefix: 'p' }) })
    expect(dec(await storage.read('session/s1/scopes/agent/a/snapshots/snapshot_latest.json'))).toBe('{\n  "scope": "agent"\n}')
  })

  it('returns a copy and keeps one: neither side can change the other', async () => {
    const storage = new StrandsStorage({ storage: new MemoryStorage({ compression: 'none' }) })
    const data = enc('abc')
    await storage.write('k', data)
    data[0] = 0x7a
    const read = (await storage.read('k'))!
    read[1] = 0x7a
    expect(dec(await storage.read('k'))).toBe('abc')
  })

  it('stored bytes that do not decode are ERR_CORRUPT naming the key; a gzip bomb is ERR_TOO_LARGE', async () => {
    const backend = new MemoryBackend()
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, prefix: 'p', maxDecodedBytes: 4096 }) })
    await backend.put('p/bad', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]))
    await expect(storage.read('bad')).rejects.toMatchObject({ code: 'ERR_CORRUPT', key: 'p/bad' })
    await backend.put('p/bomb', await gzipOf(new Uint8Array(1 << 20)))
    await expect(storage.read('bomb')).rejects.toMatchObject({ code: 'ERR_TOO_LARGE', key: 'p/bomb' })
    await backend.put('p/plain-big', new Uint8Array(5000))
    await expect(storage.read('plain-big')).rejects.toMatchObject({ code: 'ERR_TOO_LARGE', key: 'p/plain-big' })
  })
})

describe("StrandsStorage: Strands' markers", () => {
  const NAMESPACED = Symbol.for('strands.storage.namespaced')
  const EPHEMERAL = Symbol.for('strands.storage.ephemeral')

  it('ephemeral exactly where writes land in memory; namespaced exactly on views; both own properties', () => {
    const cases: [string, StrandsStorage, boolean][] = [
      ['MemoryStorage', new StrandsStorage({ storage: new MemoryStorage() }), true],
      ['a bare MemoryBackend', new StrandsStorage({ storage: { backend: new MemoryBackend(), prefix: '' } }), true],
      [
        'Tiered over memory',
        new StrandsStorage({ storage: new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage() }) }),
        true,
      ],
      [
        'S3Storage',
        new StrandsStorage({
          storage: new S3Storage({ bucket: 'bkt', endpoint: 'http://127.0.0.1:1', accessKeyId: 'k', secretAccessKey: 's' }),
        }),
        false,
      ],
      ['HttpStorage', new StrandsStorage({ storage: new HttpStorage({ baseUrl: 'http://127.0.0.1:1/api' }) }), false],
      [
        'Tiered over Http',
        new StrandsStorage({
          storage: new TieredStorage({ local: new HttpStorage({ baseUrl: 'http://x/api' }), remote: new MemoryStorage() }),
        }),
        false,
      ],
    ]
    for (const [name, storage, ephemeral] of cases) {
      expect(EPHEMERAL in storage, name).toBe(ephemeral)
      expect(NAMESPACED in storage, name).toBe(false)
      const view = storage.namespace('v').namespace('w')
      expect(EPHEMERAL in view, name).toBe(ephemeral)
      expect(NAMESPACED in view, name).toBe(true)
      expect(Object.getOwnPropertySymbols(view).includes(NAMESPACED), name).toBe(true)
    }
    expect(NAMESPACED in StrandsStorage.prototype || EPHEMERAL in StrandsStorage.prototype).toBe(false)
  })

  it("the markers mean what Strands means: SessionManager puts the root's sessions under session/, a view's straight in", async () => {
    const root = new StrandsStorage({ storage: new MemoryStorage() })
    const snapshot = { scope: 'agent' as const, schemaVersion: '1.0', createdAt: new Date().toISOString(), data: {}, appData: {} }
    const location = { sessionId: 's1', scope: 'agent' as const, scopeId: 'a' }
    // Strands' own resolution, through the public API: a SessionManager given the storage directly.
    for (const storage of [root, root.namespace('')]) {
      const manager = new SessionManager({ sessionId: 's1', storage })
      // Its resolved SnapshotStorage (Strands' SnapshotStorageAdapter over our storage).
      const adapter = (manager as unknown as { _storage: { snapshot: { saveSnapshot(p: unknown): Promise<void> } } })._storage.snapshot
      await adapter.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot })
    }
    expect(await root.list('')).toEqual([
      's1/scopes/agent/a/snapshots/snapshot_latest.json',
      'session/s1/scopes/agent/a/snapshots/snapshot_latest.json',
    ])
  })
})

describe('StrandsStorage: listing', () => {
  it('returns every key, pages through the backend with start-after, and pushes the prefix down', async () => {
    const backend = new RecordingBackend(3)
    const storage = new StrandsStorage({ storage: new BackendSnapshotStore({ backend, prefix: 'p' }) })
    const keys = Array.from({ length: 10 }, (_, i) => `docs/${String(i).padStart(2, '0')}`)
    for (const key of keys) await storage.write(key, enc(key))
    await storage.write('other/x', enc('x'))
    backend.calls = []
    expect(await storage.list('docs/')).toEqual(keys)
    expect(backend.calls).toEqual([
      'list p/docs/ after= limit=3',
      'list p/docs/ after=p/docs/02 limit=3',
      'list p/docs/ after=p/docs/05 limit=3',
      'list p/docs/ after=p/docs/08 limit=3',
    ])
  })

  it('never lists what a read would refuse: TieredStorage’s outbox, or keys another tool wrote with . segments', async () => {
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote: new MemoryStorage(), prefix: 't' })
    const storage = new StrandsStorage({ storage: tiered })
    await storage.write('a/b', enc('1'))
    expect(await tiered.pendingCount()).toBe(1) // the outbox holds an entry under t/.snapshelf/
    expect(await storage.list('')).toEqual(['a/b'])
    const backend = new MemoryBackend()
    for (const key of ['a/./b', 'a//b', '/a', 'a/', 'ok', 'ctl\u0001']) await backend.put(key, enc('x'))
    expect(await new StrandsStorage({ storage: { backend, prefix: '' } }).list('')).toEqual(['ok'])
  })

  it('a listing that does not advance, or cycles, is ERR_REMOTE, not an endless loop', async () => {
    const backend = new MemoryBackend()
    await backend.put('k', enc('x'))
    backend.list = async () => ({ entries: [{ key: 'k', size: 1 }], truncated: true })
    await expect(new StrandsStorage({ storage: { backend, prefix: '' } }).list('')).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    let calls = 0
    backend.list = async () => ({ entries: [{ key: ++calls % 2 ? 'a' : 'b', size: 1 }], truncated: true })
    await expect(new StrandsStorage({ storage: { backend, prefix: '' } }).list('')).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(calls).toBe(3)
  })
})

describeS3('StrandsStorage over S3Storage (real S3)', () => {
  const prefix = uniquePrefix('strands-s3')
  afterAll(() => wipePrefix(prefix))

  it('refuses bad keys before sending a single request', async () => {
    const { fetch, seen } = countingFetch()
    const storage = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix, fetch })) })
    for (const key of ['', '..', 'a/./b', '.x', 'a\u0001', 'x'.repeat(1100)])
      await expect(storage.write(key, enc('x'))).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    expect(seen).toEqual([])
  })

  it('keys with URL and XML specials round-trip, list and delete exactly', async () => {
    const storage = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) })
    const keys = ['sp ace/a+b', 'q?x=1#h', "it's/&amp;<b>", 'é/😀', '%41/%2F', 'a.b/..c/...', '~!$()*,;=@']
    for (const key of keys) await storage.write(`specials/${key}`, enc(key))
    expect(await storage.list('specials/')).toEqual(keys.map((k) => `specials/${k}`).sort())
    for (const key of keys) expect(dec(await storage.read(`specials/${key}`))).toBe(key)
    for (const key of keys) await storage.delete(`specials/${key}`)
    expect(await storage.list('specials/')).toEqual([])
  })

  it('lists past 1000 keys in ListObjectsV2 pages of 1000 with the prefix pushed down', async () => {
    const backend = new S3Backend(s3Options())
    const keys = Array.from({ length: 1003 }, (_, i) => `many/k${String(i).padStart(4, '0')}`)
    // Planted through the backend, 16 at a time: the Ceph gateway is shared.
    for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => backend.put(`${prefix}/${k}`, enc('x'))))
    const { fetch, seen } = countingFetch()
    const storage = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix, fetch })) })
    expect(await storage.list('many/')).toEqual(keys)
    const lists = seen.filter((r) => r.url.searchParams.get('list-type') === '2')
    expect(lists).toHaveLength(2)
    expect(lists.map((r) => [r.url.searchParams.get('prefix'), r.url.searchParams.get('max-keys')])).toEqual([
      [`${prefix}/many/`, '1000'],
      [`${prefix}/many/`, '1000'],
    ])
  }, 120_000)

  it('pages in S3 order (UTF-8 bytes) and answers in Strands order (UTF-16): keys mixing astral characters and U+E000+', async () => {
    const s3 = new S3Backend(s3Options())
    // One key per page, so every page boundary falls between keys the two orders disagree on.
    const paged: Backend = {
      get: (k, o) => s3.get(k, o),
      head: (k, o) => s3.head(k, o),
      put: (k, b, o) => s3.put(k, b, o),
      delete: (k, o) => s3.delete(k, o),
      list: (p, o) => s3.list(p, { ...o, limit: 1 }),
      maxListPage: 1,
    }
    const storage = new StrandsStorage({ storage: { backend: paged, prefix } })
    const keys = ['order/a\ue000', 'order/a😀', 'order/a\uffef', 'order/b']
    for (const key of keys) await storage.write(key, enc(key))
    expect(await storage.list('order/')).toEqual([...keys].sort())
  })

  it('server failures are typed: bad credentials ERR_AUTH, an unreachable endpoint ERR_REMOTE', async () => {
    const denied = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix, secretAccessKey: 'wrong-secret-key' })) })
    await expect(denied.read('x')).rejects.toMatchObject({ code: 'ERR_AUTH' })
    const down = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix, endpoint: 'http://127.0.0.1:1', retries: 1 })) })
    await expect(down.write('x', enc('1'))).rejects.toMatchObject({ code: 'ERR_REMOTE' })
  })
})
