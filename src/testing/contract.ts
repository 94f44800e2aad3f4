import type { Backend } from '../core/backend.js'
import { isGzip } from '../core/codec.js'
import { ConflictError } from '../core/errors.js'
import { isSnapshotId, newSnapshotId } from '../core/ids.js'
import { historyFolder, historyKey, latestKey, manifestKey } from '../core/keys.js'
import { encodeMetadata } from '../core/metadata.js'
import type { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, SnapshotLocation, StoreOptions } from '../core/types.js'
import { sleep } from '../core/util.js'
import { AssertionError, equal, ok, rejects, waitFor } from './assert.js'
import { historyCases } from './history-contract.js'

/**
 * The contract suite: every behaviour of `SnapshotStore`, written once and run against every
 * tier in every runtime. Runners inject their own `test` function (vitest's `it`, `Deno.test`,
 * bun's `test`, or a browser page's loop), so this module depends on no test framework.
 *
 * @example
 * import { it } from 'vitest'
 * import { runContractSuite } from 'snapshelf/testing'
 * runContractSuite(it, { name: 'memory', create: async (o) => ({ store: new MemoryStorage(o) }) })
 */

/**
 * What a runner provides: a fresh store per call (tests also use unique session ids, so a
 * shared bucket is fine), optionally honouring the codec options.
 *
 * @example
 * const harness: ContractHarness = { name: 's3', create: async (o) => ({ store: new S3Storage({ ...cfg, ...o }) }) }
 */
export interface ContractHarness {
  name: string
  create(options?: Pick<StoreOptions, 'compression' | 'maxDecodedBytes' | 'dedup'>): Promise<{
    store: BackendSnapshotStore<Snapshot>
    /** Where stored bytes live, for planting and inspecting them (default: `store.backend`). */
    backend?: Backend
    cleanup?: () => Promise<void>
  }>
  /** Polling interval for `watchLatest` on tiers without push (default 25 ms). */
  watchIntervalMs?: number
}

/**
 * A test registrar: `(name, fn) => void`, as vitest's `it`, bun's `test` or `Deno.test`.
 *
 * @example
 * const test: TestFn = (name, fn) => Deno.test({ name, fn, sanitizeOps: false })
 */
export type TestFn = (name: string, fn: () => Promise<void>) => unknown

/**
 * Ids that must be refused before any I/O: traversal, separators, encodings, control and
 * invisible characters, look-alikes, empty, too long, wrong types.
 *
 * @example
 * for (const id of HOSTILE_IDS) await rejects(() => store.loadSnapshot({ location: { ...l, sessionId: id } }))
 */
export const HOSTILE_IDS: unknown[] = [
  '',
  ' ',
  '.',
  '..',
  '...',
  '.hidden',
  '../etc',
  'a/b',
  '/abs',
  'a//b',
  'a/',
  'a\\b',
  '..\\..',
  '%2F',
  'a%2Fb',
  '%2e%2e',
  'a\u0000b',
  '\u0000',
  'a\nb',
  '\r',
  'a\tb',
  'a b',
  ' lead',
  'trail ',
  'a\u200bb',
  '\ufeffbom',
  'a\u202eb',
  'ａｂ',
  '\u0430gent',
  'caf\u00e9',
  'a\u2215b',
  'a\u2044b',
  'a\uff0fb',
  '\ud83d\ude00',
  'a:b',
  'a?b',
  'a#b',
  'a*b',
  '~user',
  'x'.repeat(129),
  'A'.repeat(200),
  null,
  undefined,
  42,
  {},
  [],
  true,
]

/** Ids at the edge of what is allowed: every permitted character, the maximum length. */
const GOOD_IDS = ['a', 'Z', '0', '_', '-', 'A-Za-z0-9._-', 'x'.repeat(128), 'session.v2', '_private', '-dash', 'UPPER_lower-09']

/**
 * A UUIDv7 whose timestamp is `ms`, for tests about age.
 *
 * @example
 * const weekOld = snapshotIdAt(Date.now() - 7 * 86_400_000)
 */
export function snapshotIdAt(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0')
  const rnd = newSnapshotId().slice(14)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${rnd}`
}

/**
 * A small Strands-shaped snapshot; `tag` makes each one distinct (it is `appData.tag`).
 *
 * @example
 * await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(1) })
 */
export function sampleSnapshot(tag: string | number, extra: Record<string, unknown> = {}): Snapshot {
  return {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: new Date().toISOString(),
    data: { messages: [{ role: 'user', content: [{ text: `hello ${tag}` }] }], ...(extra as Snapshot['data']) },
    appData: { tag: String(tag) },
  }
}

let sessionCounter = 0
function uniqueLocation(scopeId = 'main'): SnapshotLocation {
  const sessionId = `t${Date.now().toString(36)}-${(sessionCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  return { sessionId, scope: 'agent', scopeId }
}

/** Spies on a backend's methods; `calls` counts every call until `restore()`. */
function spyOn(backend: Backend): { calls: string[]; restore(): void } {
  const calls: string[] = []
  const target = backend as unknown as Record<string, unknown>
  const saved: Record<string, unknown> = {}
  for (const m of ['get', 'head', 'put', 'delete', 'list']) {
    const fn = target[m] as (...a: unknown[]) => unknown
    saved[m] = Object.hasOwn(target, m) ? fn : undefined
    target[m] = function (this: unknown, ...args: unknown[]) {
      calls.push(m)
      return fn.apply(backend, args)
    }
  }
  return {
    calls,
    restore() {
      for (const m of Object.keys(saved)) {
        if (saved[m] === undefined) delete target[m]
        else target[m] = saved[m]
      }
    },
  }
}

async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const res = new Response(new Response(bytes as Uint8Array<ArrayBuffer>).body!.pipeThrough(new CompressionStream('gzip')))
  return new Uint8Array(await res.arrayBuffer())
}

/**
 * Registers the whole contract suite with `test`.
 *
 * @example
 * runContractSuite(Deno.test, { name: 'memory', create: async () => ({ store: new MemoryStorage() }) })
 */
export function runContractSuite(test: TestFn, harness: ContractHarness): void {
  const t = (
    name: string,
    fn: (ctx: Awaited<ReturnType<ContractHarness['create']>> & { backend: Backend }) => Promise<void>,
    options?: Parameters<ContractHarness['create']>[0],
  ) =>
    test(`${harness.name}: ${name}`, async () => {
      const made = await harness.create(options)
      try {
        await fn({ ...made, backend: made.backend ?? made.store.backend })
      } finally {
        await made.cleanup?.()
      }
    })
  const interval = harness.watchIntervalMs ?? 25
  historyCases(t)

  t('saves and loads latest and history; stored copies are isolated from the caller', async ({ store }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    const snapshot = sampleSnapshot(1)
    await store.commitSnapshot({ location, snapshotId: id, snapshot })
    const expected = structuredClone(snapshot)
    ;(snapshot.data.messages as unknown[]).push('mutated after save')
    snapshot.appData.tag = 'changed'
    equal(await store.loadSnapshot({ location }), expected, 'latest')
    const loaded = (await store.loadSnapshot({ location, snapshotId: id }))!
    equal(loaded, expected, 'history')
    loaded.appData.tag = 'mutated after load'
    equal(await store.loadSnapshot({ location, snapshotId: id }), expected, 'reloaded history')
    ok(await store.hasSnapshot({ location }), 'hasSnapshot(latest)')
    ok(await store.hasSnapshot({ location, snapshotId: id }), 'hasSnapshot(id)')
  })

  t('keeps latest and history apart', async ({ store }) => {
    const location = uniqueLocation()
    const [a, b, c] = [newSnapshotId(), newSnapshotId(), newSnapshotId()]
    await store.saveSnapshot({ location, snapshotId: a, isLatest: false, snapshot: sampleSnapshot('a') })
    equal(await store.loadSnapshot({ location }), null, 'no latest after a non-latest save')
    await store.commitSnapshot({ location, snapshotId: b, snapshot: sampleSnapshot('b') })
    await store.saveSnapshot({ location, snapshotId: c, isLatest: false, snapshot: sampleSnapshot('c') })
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'b', 'latest stays b')
    equal((await store.loadSnapshot({ location, snapshotId: a }))?.appData.tag, 'a')
    equal((await store.loadSnapshot({ location, snapshotId: c }))?.appData.tag, 'c')
    await store.deleteSnapshot({ location, snapshotId: b })
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'b', 'deleting history keeps latest')
    equal(await store.listSnapshotIds({ location }), [a, c])
  })

  t("saveSnapshot is Strands 1.19's: isLatest writes latest alone, whatever the id; commitSnapshot writes both", async ({ store }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    // Strands' pattern: the same id for history and latest, in parallel, with different bytes.
    await Promise.all([
      store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('history') }),
      store.saveSnapshot({ location, snapshotId: id, isLatest: true, snapshot: sampleSnapshot('latest') }),
    ])
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'latest', 'latest holds the isLatest save')
    equal((await store.loadSnapshot({ location, snapshotId: id }))?.appData.tag, 'history', 'history holds the other')
    await store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: true, snapshot: sampleSnapshot('latest-2') })
    equal(await store.listSnapshotIds({ location }), [id], 'an isLatest save never writes history')
    await store.saveSnapshot({ location, snapshotId: 'not-a-uuid', isLatest: true, snapshot: sampleSnapshot('latest-3') })
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'latest-3', 'any snapshotId with isLatest')
    const both = sampleSnapshot('both')
    const { snapshotId } = await store.commitSnapshot({ location, snapshot: both })
    ok(isSnapshotId(snapshotId), 'commitSnapshot resolves a new UUIDv7')
    equal(await store.listSnapshotIds({ location }), [id, snapshotId], 'commitSnapshot writes history')
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'both', 'and latest')
    const again = await store.commitSnapshot({ location, snapshotId, snapshot: both })
    equal(again.snapshotId, snapshotId, 'a retried commit with its id is idempotent')
    await rejects(
      () => store.commitSnapshot({ location, snapshotId, snapshot: sampleSnapshot('other') }),
      'ERR_CONFLICT',
      'history stays write-once',
    )
    await rejects(
      () => store.commitSnapshot({ location, snapshotId: 'latest', snapshot: sampleSnapshot('x') }),
      'ERR_VALIDATION',
      'ids are UUIDv7',
    )
  })

  t("Strands' latest-only save: snapshotId 'latest' with isLatest writes latest alone", async ({ store }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    // What Strands' SessionManager does on every turn: history under a fresh id, latest separately.
    await Promise.all([
      store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('turn1') }),
      store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('turn1') }),
    ])
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('turn1b') })
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'turn1b', 'latest replaced')
    equal(await store.listSnapshotIds({ location }), [id], "no history entry for 'latest'")
    await rejects(
      () => store.saveSnapshot({ location, snapshotId: 'latest', isLatest: false, snapshot: sampleSnapshot('x') }),
      'ERR_VALIDATION',
      "'latest' as a history id",
    )
    await rejects(() => store.loadSnapshot({ location, snapshotId: 'latest' }), 'ERR_VALIDATION', "loading 'latest' by id")
  })

  t('absent snapshots load as null and report absent', async ({ store }) => {
    const location = uniqueLocation()
    equal(await store.loadSnapshot({ location }), null)
    equal(await store.loadSnapshot({ location, snapshotId: newSnapshotId() }), null)
    equal(await store.hasSnapshot({ location }), false)
    equal(await store.hasSnapshot({ location, snapshotId: newSnapshotId() }), false)
    equal(await store.listSnapshotIds({ location }), [])
    equal(await store.listSnapshots({ location }), { items: [] })
  })

  t('history is write-once: an identical re-save succeeds, a different one is a conflict', async ({ store }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    const snapshot = sampleSnapshot('once')
    await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot })
    await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot })
    const err = await rejects(() => store.commitSnapshot({ location, snapshotId: id, snapshot: sampleSnapshot('other') }), 'ERR_CONFLICT')
    ok(err instanceof ConflictError)
    equal((await store.loadSnapshot({ location, snapshotId: id }))?.appData.tag, 'once', 'original intact')
    equal(await store.loadSnapshot({ location }), null, 'latest not written by the refused save')
  })

  t('lists ids oldest first and pages by startAfter/limit', async ({ store }) => {
    const location = uniqueLocation()
    const ids = Array.from({ length: 7 }, (_, i) => snapshotIdAt(1_700_000_000_000 + i * 1000))
    for (const id of [...ids].reverse())
      await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot(id) })
    equal(await store.listSnapshotIds({ location }), ids, 'sorted regardless of save order')
    const pages: string[][] = []
    let startAfter: string | undefined
    for (;;) {
      const page = await store.listSnapshots({ location, limit: 3, startAfter })
      pages.push(page.items.map((i) => i.snapshotId))
      ok(page.items.length <= 3, 'page within limit')
      if (!page.nextStartAfter) break
      equal(page.nextStartAfter, page.items.at(-1)!.snapshotId, 'cursor is the last id')
      startAfter = page.nextStartAfter
    }
    equal(pages.flat(), ids, 'pages cover every id once, in order')
    equal(pages.length, 3)
    equal(await store.listSnapshotIds({ location, startAfter: ids[4] }), ids.slice(5))
    equal(await store.listSnapshotIds({ location, startAfter: ids[2], limit: 2 }), ids.slice(3, 5))
    equal(await store.listSnapshotIds({ location, startAfter: ids[6] }), [], 'startAfter the last id')
    equal(await store.listSnapshotIds({ location, startAfter: snapshotIdAt(Date.now() + 1e9) }), [], 'startAfter past the end')
    equal(await store.listSnapshotIds({ location, limit: 1000 }), ids, 'a limit above the count')
    // As Strands: a limit of 0 or less asks for nothing.
    equal(await store.listSnapshotIds({ location, limit: 0 }), [], 'limit 0')
    equal(await store.listSnapshotIds({ location, limit: -1 }), [], 'limit -1')
    equal((await store.listSnapshots({ location, limit: 0 })).items, [], 'listSnapshots limit 0')
    for (const limit of [1.5, Number.NaN, '3' as unknown as number]) {
      await rejects(() => store.listSnapshotIds({ location, limit }), 'ERR_VALIDATION', `limit ${String(limit)}`)
    }
    for (const startAfter of ['', 'abc', '00000000-0000-4000-8000-000000000000', ids[0]!.toUpperCase(), `${ids[0]}/..`]) {
      await rejects(() => store.listSnapshotIds({ location, startAfter }), 'ERR_VALIDATION', `startAfter ${startAfter}`)
    }
  })

  t('listSnapshots returns metadata: createdAt from the UUIDv7, stored size', async ({ store, backend }) => {
    const location = uniqueLocation()
    const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678)
    const id = snapshotIdAt(at)
    await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('meta') })
    const { items, nextStartAfter } = await store.listSnapshots({ location })
    equal(nextStartAfter, undefined)
    equal(items.length, 1)
    equal(items[0]!.snapshotId, id)
    equal(items[0]!.createdAt.getTime(), at)
    ok(items[0]!.createdAt instanceof Date, 'createdAt is a Date')
    const stored = await backend.get(historyKey(store.prefix, location, id))
    equal(items[0]!.storedBytes, stored!.body.length, 'storedBytes is the stored size')
  })

  t('metadata: stored with history and latest, listed without payloads, replaced by a save without it', async ({ store, backend }) => {
    const location = uniqueLocation()
    const metadata = { title: 'Résumé: 100% done', turn: '3', tokens: '5310', 'a-b': ' spaced out ', emoji: '😀 %41 ü' }
    const first = newSnapshotId()
    await store.saveSnapshot({ location, snapshotId: first, isLatest: false, snapshot: sampleSnapshot('m1'), metadata: { turn: '1' } })
    const plain = newSnapshotId()
    await store.saveSnapshot({ location, snapshotId: plain, isLatest: false, snapshot: sampleSnapshot('m2') })
    const { snapshotId } = await store.commitSnapshot({ location, snapshot: sampleSnapshot('m3'), metadata })
    // The backend holds the stored (percent-encoded) form, with the bytes, on get and head alike.
    const stored = encodeMetadata(metadata)
    equal(stored!.title, 'R%C3%A9sum%C3%A9: 100%25 done', 'stored form')
    for (const key of [historyKey(store.prefix, location, snapshotId), latestKey(store.prefix, location)]) {
      equal((await backend.head(key))?.metadata, stored, `head ${key}`)
      equal((await backend.get(key))?.metadata, stored, `get ${key}`)
    }
    equal((await backend.head(historyKey(store.prefix, location, plain)))?.metadata, undefined, 'a save without metadata has none')
    const want = [{ turn: '1' }, undefined, metadata]
    const { items } = await store.listSnapshots({ location, metadata: 'head' })
    equal(
      items.map((i) => i.metadata),
      want,
      "listSnapshots({ metadata: 'head' })",
    )
    ok(!('metadata' in items[1]!), 'an item without metadata has no metadata field')
    const listed = (await backend.list(historyFolder(store.prefix, location))).metadataListed === true
    const free = await store.listSnapshots({ location })
    equal(
      free.items.map((i) => i.metadata),
      listed ? want : [undefined, undefined, undefined],
      `listSnapshots by default (metadata ${listed ? '' : 'not '}listed by this tier)`,
    )
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'm3', 'the payload is untouched')
    const { items: sessions } = await store.listSessions({ limit: 1000 })
    const session = sessions.find((s) => s.sessionId === location.sessionId)
    ok(session, 'the session is catalogued')
    equal(session.metadata, listed ? metadata : undefined, "listSessions: the latest's metadata where listed")
    // A compare-and-swap of latest keeps its metadata; a save without metadata replaces it with none.
    await store.updateLatest({ location, mutate: (s) => s && { ...s, appData: { ...s.appData, patched: true } } })
    equal((await backend.head(latestKey(store.prefix, location)))?.metadata, stored, 'updateLatest keeps latest metadata')
    equal((await store.loadSnapshot({ location }))?.appData.patched, true, 'updateLatest committed')
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('m4') })
    equal((await backend.head(latestKey(store.prefix, location)))?.metadata, undefined, 'latest saved again without metadata')
    const after = (await store.listSessions({ limit: 1000 })).items.find((s) => s.sessionId === location.sessionId)
    equal(after?.metadata, undefined, 'listSessions after latest lost its metadata')
  })

  t('metadata at its limits round-trips; anything else is ERR_VALIDATION before any I/O', async ({ store, backend }) => {
    const location = uniqueLocation()
    const widest = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`.padEnd(20, 'x'), 'v'.repeat(10)]))
    const longest = { [`a${'b'.repeat(63)}`]: 'x'.repeat(1024 - 64) }
    for (const metadata of [widest, longest]) {
      const id = newSnapshotId()
      await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('edge'), metadata })
      const { items } = await store.listSnapshots({ location, startAfter: undefined, metadata: 'head' })
      equal(items.find((i) => i.snapshotId === id)?.metadata, metadata, `${Object.keys(metadata).length} entries round-trip`)
    }
    const before = await backend.list(historyFolder(store.prefix, location))
    const bad: [string, unknown][] = [
      ['null', null],
      ['array', ['x']],
      ['string', 'title=x'],
      ['uppercase name', { Title: 'x' }],
      ['underscore', { turn_count: '3' }],
      ['leading dash', { '-a': 'x' }],
      ['empty name', { '': 'x' }],
      ['reserved name', { 'snapshelf-write': 'x' }],
      ['65-character name', { ['a'.repeat(65)]: 'x' }],
      ['empty value', { a: '' }],
      ['number value', { a: 3 }],
      ['newline', { a: 'line\nbreak' }],
      ['NUL', { a: '\u0000' }],
      ['DEL', { a: 'x\u007f' }],
      ['lone surrogate', { a: 'x\ud800' }],
      ['33 entries', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))],
      ['1025 bytes', { a: 'x'.repeat(1024) }],
      ['1200 bytes encoded', { a: 'é'.repeat(200) }],
    ]
    const spy = spyOn(store.backend)
    try {
      for (const [what, metadata] of bad) {
        const snapshot = sampleSnapshot('bad')
        const m = metadata as never
        const e = await rejects(() => store.commitSnapshot({ location, snapshot, metadata: m }), 'ERR_VALIDATION', `commit: ${what}`)
        ok(e.message.includes('metadata'), `${what}: the message names metadata`)
        await rejects(
          () => store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot, metadata: m }),
          'ERR_VALIDATION',
          `history: ${what}`,
        )
        await rejects(
          () => store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot, metadata: m }),
          'ERR_VALIDATION',
          `latest: ${what}`,
        )
      }
      await rejects(() => store.listSnapshots({ location, metadata: 'all' as never }), 'ERR_VALIDATION', "metadata: 'all'")
      if (spy.calls.length) throw new AssertionError(`rejected calls reached the backend: ${spy.calls.join(', ')}`)
    } finally {
      spy.restore()
    }
    const after = await backend.list(historyFolder(store.prefix, location))
    equal(
      after.entries.map((e) => e.key),
      before.entries.map((e) => e.key),
      'nothing stored',
    )
  })

  t('deleteSession removes every scope of one session and nothing else', async ({ store }) => {
    const base = uniqueLocation()
    const s = base.sessionId
    const locations: SnapshotLocation[] = [
      { sessionId: s, scope: 'agent', scopeId: 'a1' },
      { sessionId: s, scope: 'agent', scopeId: 'a2' },
      { sessionId: s, scope: 'multiAgent', scopeId: 'swarm' },
    ]
    const others: SnapshotLocation[] = [`${s}-x`, `${s}0`, `${s}.v2`].map((sessionId) => ({ sessionId, scope: 'agent', scopeId: 'a1' }))
    for (const location of [...locations, ...others]) {
      await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(location.sessionId) })
      await store.saveManifest({ location, manifest: { schemaVersion: '1.0', updatedAt: new Date().toISOString() } })
    }
    await store.deleteSession({ sessionId: s })
    for (const location of locations) {
      equal(await store.loadSnapshot({ location }), null, `latest of ${location.scopeId}`)
      equal(await store.listSnapshotIds({ location }), [], `history of ${location.scopeId}`)
    }
    for (const location of others) {
      equal((await store.loadSnapshot({ location }))?.appData.tag, location.sessionId, `${location.sessionId} untouched`)
      equal((await store.listSnapshotIds({ location })).length, 1)
    }
    await store.deleteSession({ sessionId: s })
    await store.deleteSession({ sessionId: `${s}-never-existed` })
    for (const location of others) await store.deleteSession({ sessionId: location.sessionId })
  })

  t('manifest: a default when absent, then a round trip with extra fields', async ({ store }) => {
    const location = uniqueLocation()
    const before = Date.now()
    const dflt = await store.loadManifest({ location })
    equal(dflt.schemaVersion, '1.0')
    ok(Date.parse(dflt.updatedAt) >= before - 1000, 'default updatedAt is now')
    equal(await store.hasSnapshot({ location }), false, 'loading the default writes nothing')
    const manifest = { schemaVersion: '2.0', updatedAt: '2026-01-01T00:00:00.000Z', nextSnapshotId: '7' }
    await store.saveManifest({ location, manifest })
    equal(await store.loadManifest({ location }), manifest)
    for (const bad of [null, {}, { schemaVersion: 2, updatedAt: 'x' }, { schemaVersion: '1' }, 'manifest']) {
      await rejects(() => store.saveManifest({ location, manifest: bad as never }), 'ERR_VALIDATION', `manifest ${JSON.stringify(bad)}`)
    }
    equal(await store.loadManifest({ location }), manifest, 'refused saves changed nothing')
  })

  t('deleteSnapshot is idempotent', async ({ store }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('d') })
    await store.deleteSnapshot({ location, snapshotId: id })
    await store.deleteSnapshot({ location, snapshotId: id })
    await store.deleteSnapshot({ location, snapshotId: newSnapshotId() })
    equal(await store.hasSnapshot({ location, snapshotId: id }), false)
  })

  t('updateLatest creates, then changes latest atomically', async ({ store }) => {
    const location = uniqueLocation()
    const seen: (Snapshot | null)[] = []
    const first = await store.updateLatest({
      location,
      mutate: (cur) => {
        seen.push(cur)
        return sampleSnapshot('v1')
      },
    })
    equal(first.committed, true)
    equal(seen, [null], 'mutate saw no latest')
    const second = await store.updateLatest({ location, mutate: (cur) => ({ ...cur!, appData: { tag: 'v2', prev: cur!.appData.tag! } }) })
    equal(second.snapshot?.appData, { tag: 'v2', prev: 'v1' })
    equal((await store.loadSnapshot({ location }))?.appData, { tag: 'v2', prev: 'v1' })
  })

  t('updateLatest: 32 concurrent mutators lose no update', async ({ store }) => {
    const location = uniqueLocation()
    await store.commitSnapshot({
      location,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('c', { count: 0, writers: [] }),
    })
    let calls = 0
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        store.updateLatest({
          location,
          maxAttempts: 500,
          mutate: async (cur) => {
            calls++
            await sleep(Math.random() * 3)
            const data = cur!.data as { count: number; writers: number[] }
            return { ...cur!, data: { ...data, count: data.count + 1, writers: [...data.writers, i] } }
          },
        }),
      ),
    )
    ok(
      results.every((r) => r.committed),
      'all committed',
    )
    const final = (await store.loadSnapshot({ location }))!.data as { count: number; writers: number[] }
    equal(final.count, 32, 'count')
    equal(
      [...final.writers].sort((a, b) => a - b),
      Array.from({ length: 32 }, (_, i) => i),
      'each writer exactly once',
    )
    ok(calls >= 32, 'mutate ran at least once per writer')
  })

  t('updateLatest: mutate returning null writes nothing; throwing aborts and surfaces', async ({ store, backend }) => {
    const location = uniqueLocation()
    const none = await store.updateLatest({ location, mutate: () => null })
    equal(none, { committed: false, snapshot: null })
    equal(await store.hasSnapshot({ location }), false, 'nothing written')
    await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('keep') })
    const before = await backend.get(latestKey(store.prefix, location))
    const kept = await store.updateLatest({ location, mutate: () => null })
    equal(kept.committed, false)
    equal(kept.snapshot?.appData.tag, 'keep')
    const boom = new Error('boom')
    let caught: unknown
    try {
      await store.updateLatest({
        location,
        mutate: () => {
          throw boom
        },
      })
    } catch (e) {
      caught = e
    }
    ok(caught === boom, 'the mutate error surfaces unchanged')
    const after = await backend.get(latestKey(store.prefix, location))
    equal(after?.etag, before?.etag, 'latest not rewritten')
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'keep')
  })

  t('updateLatest gives up with ERR_CONFLICT after maxAttempts lost races', async ({ store }) => {
    const location = uniqueLocation()
    let n = 0
    await rejects(
      () =>
        store.updateLatest({
          location,
          maxAttempts: 3,
          // A rival commits during every attempt, so every compare-and-swap loses.
          mutate: async () => {
            await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot(`rival${n}`) })
            return sampleSnapshot(`mine${n++}`)
          },
        }),
      'ERR_CONFLICT',
    )
    equal(n, 3, 'one mutate per attempt')
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'rival2', 'the rivals kept latest')
  })

  t('watchLatest fires once per change and stops on unsubscribe', async ({ store }) => {
    const location = uniqueLocation()
    await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('w0') })
    const got: string[] = []
    const stop = store.watchLatest({ location, intervalMs: interval, onChange: (s) => got.push(String(s.appData.tag)) })
    try {
      await sleep(interval * 4)
      equal(got, [], 'no call for the state at subscription')
      for (const tag of ['w1', 'w2', 'w3']) {
        await store.updateLatest({ location, mutate: () => sampleSnapshot(tag) })
        await waitFor(() => got.at(-1) === tag, 5000, `change ${tag}`)
      }
      await sleep(interval * 4)
      equal(got, ['w1', 'w2', 'w3'], 'exactly once per change')
    } finally {
      stop()
    }
    await store.updateLatest({ location, mutate: () => sampleSnapshot('after-stop') })
    await sleep(interval * 6)
    equal(got, ['w1', 'w2', 'w3'], 'nothing after unsubscribe')
  })

  t('watchLatest stops when its signal aborts', async ({ store }) => {
    const location = uniqueLocation()
    const ctrl = new AbortController()
    const got: string[] = []
    store.watchLatest({ location, intervalMs: interval, signal: ctrl.signal, onChange: (s) => got.push(String(s.appData.tag)) })
    await sleep(interval * 3)
    await store.updateLatest({ location, mutate: () => sampleSnapshot('a1') })
    await waitFor(() => got.length === 1, 5000, 'first change')
    ctrl.abort()
    await store.updateLatest({ location, mutate: () => sampleSnapshot('a2') })
    await sleep(interval * 6)
    equal(got, ['a1'])
    const pre = new AbortController()
    pre.abort()
    const stop = store.watchLatest({ location, signal: pre.signal, onChange: () => got.push('never') })
    ok(typeof stop === 'function')
    await store.updateLatest({ location, mutate: () => sampleSnapshot('a3') })
    await sleep(interval * 4)
    equal(got, ['a1'], 'an already-aborted signal never subscribes')
  })

  t('prune by count keeps the newest, by age drops the old, never touches latest', async ({ store }) => {
    const location = uniqueLocation()
    const now = Date.now()
    const ids = [10, 8, 6, 4, 2, 1].map((days) => snapshotIdAt(now - days * 86_400_000))
    for (const id of ids) {
      const snapshot = sampleSnapshot(id)
      if (id === ids[0]) await store.commitSnapshot({ location, snapshotId: id, snapshot })
      else await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot })
    }
    equal(await store.prune({ location, keepLast: 4 }), 2)
    equal(await store.listSnapshotIds({ location }), ids.slice(2))
    equal(await store.prune({ location, olderThan: new Date(now - 5 * 86_400_000) }), 1, 'the 6-day-old one')
    equal(await store.listSnapshotIds({ location }), ids.slice(3))
    equal(await store.prune({ location, keepLast: 2, olderThan: new Date(now) }), 1, 'keepLast protects the newest 2')
    equal(await store.listSnapshotIds({ location }), ids.slice(4))
    equal(await store.prune({ location, keepLast: 5 }), 0)
    equal((await store.loadSnapshot({ location }))?.appData.tag, ids[0], 'latest survives pruning of its history copy')
    equal(await store.prune({ location, keepLast: 0 }), 2)
    equal(await store.listSnapshotIds({ location }), [])
    await rejects(() => store.prune({ location }), 'ERR_VALIDATION', 'no rule')
    await rejects(() => store.prune({ location, keepLast: -1 }), 'ERR_VALIDATION')
    await rejects(() => store.prune({ location, olderThan: new Date('nope') }), 'ERR_VALIDATION')
  })

  t('only exact history keys are history: strays in or under the history folder are never listed or pruned', async ({ store, backend }) => {
    const location = uniqueLocation()
    const ids = [3, 2, 1].map((days) => snapshotIdAt(Date.now() - days * 86_400_000))
    for (const id of ids) await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot(id) })
    const folder = historyFolder(store.prefix, location)
    const strays = [`${folder}sub/snapshot_${newSnapshotId()}.json`, `${folder}snapshot_${ids[0]}.json.bak`, `${folder}notes.txt`]
    const planted: string[] = []
    for (const key of strays) {
      try {
        await backend.put(key, new TextEncoder().encode('{"stray":true}'))
        planted.push(key)
      } catch (error) {
        // A tier may refuse keys outside the layout outright (the HTTP handler answers 400): then
        // no stray can exist there, which is the property too.
        const { code, status } = error as { code?: string; status?: number }
        if (code !== 'ERR_VALIDATION' && status !== 400) throw error
      }
    }
    equal(await store.listSnapshotIds({ location }), ids, 'strays are not listed')
    equal(await store.prune({ location, keepLast: 2 }), 1, 'prune counts real snapshots only')
    equal(await store.listSnapshotIds({ location }), ids.slice(1), 'the two newest real snapshots survive')
    for (const key of planted) ok((await backend.head(key)) !== null, `prune left ${key} alone`)
  })

  t('a snapshot whose JSON form is not an object is ERR_VALIDATION; nothing stored changes', async ({ store, backend }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    await store.saveSnapshot({ location, snapshotId: id, isLatest: false, snapshot: sampleSnapshot('good') })
    await store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('good') })
    const before = await backend.get(latestKey(store.prefix, location))
    const bad: [string, unknown][] = [
      ['a Date', new Date()],
      ['a boxed number', Object(5)],
      ['a boxed string', Object('s')],
      ['toJSON returning null', { ...sampleSnapshot('x'), toJSON: () => null }],
      ['toJSON returning an array', { ...sampleSnapshot('x'), toJSON: () => [1] }],
      ['toJSON returning a string', { ...sampleSnapshot('x'), toJSON: () => 'x' }],
      ['a function', () => ({})],
    ]
    for (const [what, snapshot] of bad) {
      const evil = snapshot as Snapshot
      await rejects(
        () => store.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: evil }),
        'ERR_VALIDATION',
        `latest: ${what}`,
      )
      await rejects(
        () => store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: evil }),
        'ERR_VALIDATION',
        `history: ${what}`,
      )
      await rejects(() => store.updateLatest({ location, mutate: () => evil }), 'ERR_VALIDATION', `updateLatest: ${what}`)
    }
    const manifest = { schemaVersion: '1.0', updatedAt: new Date().toISOString(), toJSON: () => null }
    await rejects(() => store.saveManifest({ location, manifest }), 'ERR_VALIDATION', 'manifest: toJSON returning null')
    equal(await store.listSnapshotIds({ location }), [id], 'no history entered')
    equal((await backend.get(latestKey(store.prefix, location)))?.etag, before?.etag, 'latest untouched')
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'good', 'the location still reads')
    ok((await backend.head(manifestKey(store.prefix, location))) === null, 'no manifest written')
  })

  t('stored bytes of a large snapshot are gzip; planted plain JSON still loads', async ({ store, backend }) => {
    const location = uniqueLocation()
    const id = newSnapshotId()
    const big = sampleSnapshot('big', { blob: 'agent memory '.repeat(20_000) })
    await store.commitSnapshot({ location, snapshotId: id, snapshot: big })
    const stored = (await backend.get(historyKey(store.prefix, location, id)))!
    if (store.compression === 'gzip') {
      ok(isGzip(stored.body), 'starts with 1f 8b')
      ok(stored.body.length < JSON.stringify(big).length / 10, 'compressed')
    }
    equal(await store.loadSnapshot({ location, snapshotId: id }), big)
    const plainId = newSnapshotId()
    const plain = sampleSnapshot('plain')
    await backend.put(historyKey(store.prefix, location, plainId), new TextEncoder().encode(JSON.stringify(plain, null, 2)))
    equal(await store.loadSnapshot({ location, snapshotId: plainId }), plain)
  })

  t(
    "compression 'none' writes plain JSON that JSON.parse reads",
    async ({ store, backend }) => {
      const location = uniqueLocation()
      const id = newSnapshotId()
      const snapshot = sampleSnapshot('none', { text: 'x'.repeat(5000) })
      await store.commitSnapshot({ location, snapshotId: id, snapshot })
      const stored = (await backend.get(historyKey(store.prefix, location, id)))!
      equal(JSON.parse(new TextDecoder().decode(stored.body)), snapshot)
      equal(await store.loadSnapshot({ location }), snapshot)
    },
    { compression: 'none' },
  )

  t('garbage, truncated gzip and invalid JSON are ERR_CORRUPT naming the key; nothing else disturbed', async ({ store, backend }) => {
    const location = uniqueLocation()
    const good = newSnapshotId()
    await store.commitSnapshot({ location, snapshotId: good, snapshot: sampleSnapshot('good') })
    const gz = await gzipBytes(new TextEncoder().encode(JSON.stringify(sampleSnapshot('x', { pad: 'y'.repeat(4000) }))))
    const cases: [string, Uint8Array][] = [
      ['garbage', new Uint8Array([0xff, 0xfe, 0x00, 0x13, 0x37, 0x80, 0x81])],
      ['truncated gzip', gz.slice(0, Math.floor(gz.length / 2))],
      ['gzip magic then junk', new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9])],
      ['invalid JSON', new TextEncoder().encode('{"scope": "agent", ')],
      ['JSON that is not an object', new TextEncoder().encode('[1,2,3]')],
      ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])],
      ['empty', new Uint8Array(0)],
    ]
    for (const [what, bytes] of cases) {
      const id = newSnapshotId()
      const key = historyKey(store.prefix, location, id)
      await backend.put(key, bytes)
      const err = await rejects(() => store.loadSnapshot({ location, snapshotId: id }), 'ERR_CORRUPT', what)
      equal(err.key, key, `${what}: error names the key`)
      ok(err.message.includes(key), `${what}: message names the key`)
    }
    await backend.put(manifestKey(store.prefix, location), new TextEncoder().encode('not json'))
    await rejects(() => store.loadManifest({ location }), 'ERR_CORRUPT', 'manifest')
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'good', 'latest intact')
    equal((await store.loadSnapshot({ location, snapshotId: good }))?.appData.tag, 'good', 'good history intact')
    equal((await store.listSnapshotIds({ location })).length, cases.length + 1, 'listing unaffected')
    await backend.put(latestKey(store.prefix, location), new Uint8Array([1, 2, 3]))
    await rejects(
      () => store.updateLatest({ location, mutate: () => sampleSnapshot('n') }),
      'ERR_CORRUPT',
      'updateLatest over corrupt latest',
    )
  })

  t(
    'a gzip bomb is ERR_TOO_LARGE, not an out-of-memory',
    async ({ store, backend }) => {
      const location = uniqueLocation()
      // 4 MiB of spaces inside a JSON string compresses to a few KiB; the store allows 1 MiB.
      const huge = new Uint8Array(4 * 1024 * 1024).fill(0x20)
      huge.set(new TextEncoder().encode('{"a":"'), 0)
      huge.set(new TextEncoder().encode('"}'), huge.length - 2)
      const bomb = await gzipBytes(huge)
      ok(bomb.length < 64 * 1024, 'the bomb is small')
      const id = newSnapshotId()
      await backend.put(historyKey(store.prefix, location, id), bomb)
      const err = await rejects(() => store.loadSnapshot({ location, snapshotId: id }), 'ERR_TOO_LARGE')
      equal(err.key, historyKey(store.prefix, location, id))
      await rejects(
        () =>
          store.commitSnapshot({
            location,
            snapshotId: newSnapshotId(),
            snapshot: sampleSnapshot('big', { s: 'z'.repeat(2 << 20) }),
          }),
        'ERR_TOO_LARGE',
        'a save over the limit',
      )
      equal(await store.hasSnapshot({ location }), false, 'the refused save wrote nothing')
    },
    { maxDecodedBytes: 1024 * 1024 },
  )

  t('accepts every allowed id character and the maximum length', async ({ store }) => {
    const { sessionId } = uniqueLocation()
    for (const id of GOOD_IDS) {
      const location = { sessionId: `${sessionId}${id}`.slice(0, 128), scope: id, scopeId: id }
      const snapshotId = newSnapshotId()
      await store.commitSnapshot({ location, snapshotId, snapshot: sampleSnapshot(id) })
      equal((await store.loadSnapshot({ location }))?.appData.tag, id, `id ${id}`)
      equal(await store.listSnapshotIds({ location }), [snapshotId])
      await store.deleteSession({ sessionId: location.sessionId })
    }
  })

  t(`${HOSTILE_IDS.length} hostile ids are ERR_VALIDATION before any I/O`, async ({ store, backend }) => {
    const location = uniqueLocation()
    await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('victim') })
    const before = await backend.list(`${store.prefix ? `${store.prefix}/` : ''}${location.sessionId}/`, { limit: 1000 })
    const spy = spyOn(store.backend)
    try {
      for (const id of HOSTILE_IDS) {
        for (const field of ['sessionId', 'scope', 'scopeId'] as const) {
          const l = { ...location, [field]: id } as SnapshotLocation
          const what = `${field}=${JSON.stringify(id)}`
          const e = await rejects(
            () => store.commitSnapshot({ location: l, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('evil') }),
            'ERR_VALIDATION',
            what,
          )
          ok(e.message.includes(field), `${what}: message names the field`)
          await rejects(() => store.loadSnapshot({ location: l }), 'ERR_VALIDATION', what)
          await rejects(() => store.listSnapshots({ location: l }), 'ERR_VALIDATION', what)
          await rejects(() => store.updateLatest({ location: l, mutate: () => sampleSnapshot('evil') }), 'ERR_VALIDATION', what)
          await rejects(() => store.saveManifest({ location: l, manifest: { schemaVersion: '1', updatedAt: 'x' } }), 'ERR_VALIDATION', what)
          await rejects(() => store.prune({ location: l, keepLast: 0 }), 'ERR_VALIDATION', what)
          await rejects(() => store.deleteSnapshot({ location: l, snapshotId: newSnapshotId() }), 'ERR_VALIDATION', what)
        }
        await rejects(() => store.deleteSession({ sessionId: id as string }), 'ERR_VALIDATION', `deleteSession ${JSON.stringify(id)}`)
        let threw = false
        try {
          store.watchLatest({ location: { ...location, scopeId: id as string }, onChange: () => {} })()
        } catch (e) {
          threw = (e as { code?: string }).code === 'ERR_VALIDATION'
        }
        ok(threw, `watchLatest ${JSON.stringify(id)}`)
      }
      for (const snapshotId of [
        '',
        '1',
        '../latest',
        'snapshot_latest',
        newSnapshotId().toUpperCase(),
        `${newSnapshotId()}/x`,
        'f'.repeat(36),
        undefined,
        7,
      ]) {
        await rejects(
          () => store.saveSnapshot({ location, snapshotId: snapshotId as string, isLatest: false, snapshot: sampleSnapshot('e') }),
          'ERR_VALIDATION',
          `snapshotId ${String(snapshotId)}`,
        )
        if (snapshotId !== undefined) {
          await rejects(
            () => store.commitSnapshot({ location, snapshotId: snapshotId as string, snapshot: sampleSnapshot('e') }),
            'ERR_VALIDATION',
            `commitSnapshot snapshotId ${String(snapshotId)}`,
          )
        }
        if (snapshotId !== undefined)
          await rejects(() => store.loadSnapshot({ location, snapshotId: snapshotId as string }), 'ERR_VALIDATION')
        await rejects(() => store.deleteSnapshot({ location, snapshotId: snapshotId as string }), 'ERR_VALIDATION')
      }
      const cyclic: Record<string, unknown> = { ...sampleSnapshot('cyc') }
      cyclic.self = cyclic
      for (const [what, snapshot] of [
        ['null', null],
        ['string', 'snap'],
        ['array', []],
        ['cyclic', cyclic],
        ['BigInt', { ...sampleSnapshot('b'), n: BigInt(1) }],
      ] as const) {
        await rejects(
          () => store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: snapshot as never }),
          'ERR_VALIDATION',
          `snapshot ${what}`,
        )
      }
      await rejects(
        () => store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: 'yes' as never, snapshot: sampleSnapshot('e') }),
        'ERR_VALIDATION',
        'isLatest',
      )
      await rejects(() => store.saveSnapshot(undefined as never), 'ERR_VALIDATION', 'no params')
      await rejects(() => store.loadSnapshot({} as never), 'ERR_VALIDATION', 'no location')
      await rejects(() => store.updateLatest({ location, mutate: 'x' as never }), 'ERR_VALIDATION', 'mutate')
      await rejects(() => store.updateLatest({ location, maxAttempts: 0, mutate: () => null }), 'ERR_VALIDATION', 'maxAttempts')
      if (spy.calls.length) throw new AssertionError(`rejected calls reached the backend: ${spy.calls.join(', ')}`)
    } finally {
      spy.restore()
    }
    const after = await backend.list(`${store.prefix ? `${store.prefix}/` : ''}${location.sessionId}/`, { limit: 1000 })
    equal(
      after.entries.map((e) => e.key),
      before.entries.map((e) => e.key),
      'stored keys unchanged',
    )
    equal((await store.loadSnapshot({ location }))?.appData.tag, 'victim', 'stored snapshot unchanged')
  })
}

/** The re-exported assertion helpers, for runner-specific extra tests. */
export { equal, ok, rejects, waitFor, AssertionError }
