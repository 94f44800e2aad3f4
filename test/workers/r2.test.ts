import { env } from 'cloudflare:workers'
import { it } from 'vitest'
import { newSnapshotId } from 'snapshelf'
import { R2Backend, R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { equal, ok, rejects, runContractSuite } from 'snapshelf/testing'

// The whole contract suite inside real workerd, over miniflare's local R2 binding.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS

runContractSuite(it, { name: 'R2Storage (workerd)', create: async (options) => ({ store: new R2Storage({ bucket, ...options }) }) })
runContractSuite(it, {
  name: 'R2Storage with prefix (workerd)',
  create: async (options) => ({ store: new R2Storage({ bucket, prefix: 'tenants/acme', ...options }) }),
})

it('runs inside workerd, not Node', () => {
  equal(navigator.userAgent, 'Cloudflare-Workers')
  equal(typeof (globalThis as { WebSocketPair?: unknown }).WebSocketPair, 'function', 'a workerd-only global')
})

it('R2Storage refuses a missing or wrong binding before any I/O', async () => {
  for (const bad of [undefined, null, {}, { get() {} }, 'SNAPSHOTS']) {
    await rejects(() => new R2Storage({ bucket: bad as never }), 'ERR_VALIDATION', String(bad))
  }
})

it('R2Backend: a get aborted while R2 answers is ERR_ABORTED and reads no body', async () => {
  // The real binding, its objects' arrayBuffer() watched.
  let bodiesRead = 0
  const watched: R2BucketLike = {
    head: (k) => bucket.head(k),
    put: (k, v, o) => bucket.put(k, v, o),
    delete: (k) => bucket.delete(k),
    list: (o) => bucket.list(o),
    get: async (k: string) => {
      const obj = await bucket.get(k)
      if (!obj) return obj
      const { key, size, etag, customMetadata, body } = obj
      return {
        key,
        size,
        etag,
        customMetadata,
        body,
        arrayBuffer: () => {
          bodiesRead++
          return obj.arrayBuffer()
        },
      }
    },
  }
  const backend = new R2Backend(watched)
  const key = `abort-${newSnapshotId()}`
  ok(await backend.put(key, new Uint8Array(1 << 20).fill(7)), 'put')
  const ctrl = new AbortController()
  const got = backend.get(key, { signal: ctrl.signal })
  ctrl.abort(new Error('not needed after all'))
  await rejects(() => got, 'ERR_ABORTED', 'aborted after the GET began')
  equal(bodiesRead, 0, 'its body was not read')
  equal((await backend.get(key))?.body.length, 1 << 20, 'the object itself is untouched')
})

it('R2Backend stores bytes opaquely (no contentEncoding) and never lists more than asked', async () => {
  const backend = new R2Backend(bucket)
  const prefix = `raw-${newSnapshotId()}/`
  const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])
  const put = await backend.put(`${prefix}a`, gz)
  ok(put, 'put')
  const raw = await (bucket as unknown as { head(k: string): Promise<{ httpMetadata?: { contentEncoding?: string } }> }).head(`${prefix}a`)
  equal(raw.httpMetadata?.contentEncoding, undefined, 'no contentEncoding stored')
  equal([...(await backend.get(`${prefix}a`))!.body], [...gz], 'exact bytes back')
  equal(await backend.put(`${prefix}a`, gz, { ifNoneMatch: '*' }), null, 'create-only on an existing key')
  equal(await backend.put(`${prefix}a`, gz, { ifMatch: 'not-the-etag' }), null, 'stale ifMatch')
  equal(await backend.put(`${prefix}zz`, gz, { ifMatch: put.etag }), null, 'ifMatch on an absent key')
  ok(await backend.put(`${prefix}a`, new Uint8Array([9]), { ifMatch: put.etag }), 'matching ifMatch')
  const keys = Array.from({ length: 12 }, (_, i) => `${prefix}k${String(i).padStart(2, '0')}`)
  for (const k of keys) await backend.put(k, new Uint8Array([1]))
  const first = await backend.list(`${prefix}k`, { limit: 5 })
  equal(
    first.entries.map((e) => e.key),
    keys.slice(0, 5),
  )
  equal(first.truncated, true)
  const rest = await backend.list(`${prefix}k`, { limit: 1000, startAfter: keys[4] })
  equal(
    rest.entries.map((e) => e.key),
    keys.slice(5),
  )
  equal(rest.truncated, false)
  await backend.delete([...keys, `${prefix}a`, `${prefix}never`])
  equal((await backend.list(prefix)).entries, [], 'batch delete removed everything')
})

it('R2Backend follows an empty truncated page to the next, but a cursor that repeats is ERR_REMOTE, not a loop', async () => {
  // The real binding, with `list` replaced.
  const backend = (list: R2BucketLike['list']): R2Backend =>
    new R2Backend({
      get: (k) => bucket.get(k),
      head: (k) => bucket.head(k),
      put: (k, v, o) => bucket.put(k, v, o),
      delete: (k) => bucket.delete(k),
      list,
    })
  const prefix = `cursor-${newSnapshotId()}/`
  await bucket.put(`${prefix}a`, new Uint8Array([1]))
  // R2 may answer a truncated page with no objects: its cursor leads on to the rest.
  let calls = 0
  const once = backend(async (o) => (calls++ === 0 ? { objects: [], truncated: true, cursor: 'next' } : bucket.list({ prefix: o?.prefix })))
  equal(
    (await once.list(prefix)).entries.map((e) => e.key),
    [`${prefix}a`],
  )
  equal(calls, 2)
  // A binding (or a wrapper of one) that answers the same empty page for its own cursor.
  calls = 0
  const stuck = backend(async () => {
    if (++calls > 50) throw new Error('still listing after 50 pages')
    return { objects: [], truncated: true, cursor: 'same' }
  })
  const error = await rejects(() => stuck.list(prefix), 'ERR_REMOTE')
  ok(/did not advance/.test(error.message), error.message)
  equal(calls, 2)
  await bucket.delete(`${prefix}a`)
})

it("R2Backend keeps snapshot metadata as customMetadata 'meta-<name>', apart from its write tokens, and lists it", async () => {
  const storage = new R2Storage({ bucket })
  const location = { sessionId: `meta-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
  const snapshot = { scope: 'agent' as const, schemaVersion: '1.0', createdAt: new Date().toISOString(), data: {}, appData: {} }
  const { snapshotId } = await storage.commitSnapshot({ location, snapshot, metadata: { title: 'Café', tokens: '5310' } })
  const key = `${location.sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${snapshotId}.json`
  const raw = (await bucket.head(key))!
  equal(raw.customMetadata, { 'meta-title': 'Caf%C3%A9', 'meta-tokens': '5310' }, 'what the R2 dashboard shows')
  // A write with tokens (HttpStorage's conditional puts) and metadata keeps both, apart.
  const backend = new R2Backend(bucket)
  ok(await backend.put(`${key}.x`, new Uint8Array([1]), { tokens: ['abc', 'def'], metadata: { tokens: '7' } }))
  const both = (await backend.head(`${key}.x`))!
  equal([both.tokens, both.metadata], [['abc', 'def'], { tokens: '7' }])
  // An object of before (tokens only) has no snapshot metadata.
  await bucket.put(`${key}.y`, new Uint8Array([1]), { customMetadata: { tokens: 'abc' } })
  equal((await backend.get(`${key}.y`))?.metadata, undefined, 'legacy tokens are not metadata')
  const page = await backend.list(`${key}.`)
  equal(
    page.entries.map((e) => e.metadata),
    [{ tokens: '7' }, undefined],
    'listed with include: customMetadata',
  )
  equal(page.metadataListed, true)
  equal((await storage.listSnapshots({ location })).items[0]?.metadata, { title: 'Café', tokens: '5310' })
  await storage.deleteSession({ sessionId: location.sessionId })
  await backend.delete([`${key}.x`, `${key}.y`])
})
