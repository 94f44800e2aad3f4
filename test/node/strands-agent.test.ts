import 'fake-indexeddb/auto'
import { S3Client } from '@aws-sdk/client-s3'
import { SessionManager } from '@strands-agents/sdk'
import { S3Storage as StrandsS3Storage } from '@strands-agents/sdk/storage'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryStorage, type Snapshot } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { StrandsStorage, strandsLayout } from 'snapshelf/strands'
import { TieredStorage } from 'snapshelf/tiered'
import { describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'
import { conversationOf, converse, expectRestored, strandsAgent } from '../helpers/strands-agent.js'

// A real Strands Agent (SDK 1.19) given `storage: new StrandsStorage(...)` saves its session
// (messages, app state, the context stash) and a new Agent restores it, on every tier that runs
// in Node; R2 runs in test/workers/strands.test.ts, IndexedDB in test/browser/strands.test.ts.
// Then: the bucket layout both ways (plain snapshelf storages read what the SessionManager wrote
// through StrandsStorage, and the reverse), and Strands' own unified S3Storage sharing a bucket
// with ours.

const sessionId = () => `trip-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
const location = (sid: string) => ({ sessionId: sid, scope: 'agent' as const, scopeId: 'planner' })
/** The text of every message of a stored Strands snapshot. */
const textsOf = (snapshot: Snapshot | null) =>
  ((snapshot?.data.messages ?? []) as { content: { text?: string }[] }[]).map((m) => m.content.map((b) => b.text).join(''))

describe('a Strands Agent saves and restores through StrandsStorage', () => {
  it('over MemoryStorage', async () => {
    const memory = new MemoryStorage()
    const sid = sessionId()
    const left = await converse(strandsAgent(new StrandsStorage({ storage: memory }), sid))
    await expectRestored(new StrandsStorage({ storage: memory }), sid, left)
  })

  it('SessionManager.deleteSession erases the session and its stash, and nothing else', async () => {
    const memory = new MemoryStorage()
    const storage = new StrandsStorage({ storage: memory })
    const [mine, other] = [sessionId(), sessionId()]
    await converse(strandsAgent(storage, other))
    const agent = strandsAgent(storage, mine)
    await converse(agent)
    expect((await storage.list('')).some((k) => k.startsWith(`context/${mine}/`))).toBe(true)
    await agent.sessionManager!.deleteSession()
    const left = await storage.list('')
    expect(left.filter((k) => k.includes(mine))).toEqual([])
    expect(left.filter((k) => k.includes(other)).length).toBeGreaterThan(4)
  })
})

// The handler serves Strands' keys only when asked (`layouts: [strandsLayout]`), and authorizes the
// Strands session itself: never the folder name (`session`, `context`) its keys start with.
describe('a Strands Agent over HttpStorage -> createSnapshotHandler -> MemoryStorage', () => {
  it('saves and restores through the handler, with authorization per Strands session', async () => {
    const server = new MemoryStorage()
    const asked: string[] = []
    const handler = createSnapshotHandler({
      storage: server,
      basePath: '/api',
      layouts: [strandsLayout],
      authorize: (_request, { sessionId: sid, op, layout }) => {
        asked.push(`${op} ${sid} ${layout}`)
        return true
      },
    })
    const client = () => new HttpStorage({ baseUrl: 'http://app.test/api', fetch: (input, init) => handler(new Request(input, init)) })
    const sid = sessionId()
    const left = await converse(strandsAgent(new StrandsStorage({ storage: client() }), sid))
    await expectRestored(new StrandsStorage({ storage: client() }), sid, left)
    // The handler authorizes the Strands session itself, never the folder name `session` or `context`.
    expect(new Set(asked.map((a) => a.split(' ').slice(1).join(' ')))).toEqual(new Set([`${sid} strands`]))
  })
})

describeS3('a Strands Agent over real S3 (Ceph)', () => {
  const prefix = uniquePrefix('strands-agent')
  afterAll(() => wipePrefix(prefix))

  it('over S3Storage: a new process (new storage objects) restores messages, app state and stash', async () => {
    const sid = sessionId()
    const left = await converse(strandsAgent(new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) }), sid))
    await expectRestored(new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) }), sid, left)
  })

  it('over TieredStorage (Memory -> S3): offline, nothing reaches S3; once synced, a new device restores', async () => {
    let online = false
    // In front of the real server: while "offline" every request fails as a dead network does.
    const flaky: typeof fetch = (input, init) => (online ? fetch(input, init) : Promise.reject(new TypeError('fetch failed')))
    const remote = () => new S3Storage(s3Options({ prefix: `${prefix}/tiered`, fetch: flaky, retries: 0 }))
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote: remote(), retries: 0 })
    const storage = new StrandsStorage({ storage: tiered })
    const sid = sessionId()
    const left = await converse(strandsAgent(storage, sid))
    expect(await tiered.pendingCount()).toBeGreaterThan(4) // latest + every stash entry
    expect(tiered.status.online).toBe(false)
    expect((await new S3Backend(s3Options()).list(`${prefix}/tiered/`)).entries).toEqual([])
    // Offline, the same device restores from its local tier.
    await expectRestored(storage, sid, left)

    online = true
    await tiered.sync()
    expect(await tiered.pendingCount()).toBe(0)
    // Every key arrived, byte for byte (encoded bytes move key to key).
    const direct = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix: `${prefix}/tiered` })) })
    expect(await direct.list('')).toEqual(await storage.list(''))
    for (const key of await storage.list('')) expect(await direct.read(key)).toEqual(await storage.read(key))
    // Another device: the remote itself, and a fresh tiered storage reading through to it.
    await expectRestored(direct, sid, left)
    const fresh = new StrandsStorage({ storage: new TieredStorage({ local: new MemoryStorage(), remote: remote() }) })
    const agent = strandsAgent(fresh, sid)
    await agent.initialize()
    const restored = await conversationOf(agent)
    expect(restored.messages).toEqual(left.messages)
    expect(restored.state).toEqual(left.state)
    // Its stash came along inline (its local tier is memory, so StrandsStorage says ephemeral).
    expect(restored.stash).toEqual(left.stash)
  })
})

describeS3('a Strands Agent over TieredStorage with a durable local tier (IndexedDB -> S3)', () => {
  const prefix = uniquePrefix('strands-tiered-idb')
  afterAll(() => wipePrefix(prefix))

  // A durable local tier makes Strands keep the stash only in storage (`context/<id>/…` keys),
  // which no sync pulls: device B finds them because a listing outside the snapshot layout reads
  // through to the remote (merged with local, minus deletes queued here) and what it reads is cached.
  it('device A converses and syncs; device B (its own IndexedDB) restores messages, app state and stash', async () => {
    const remote = () => new S3Storage(s3Options({ prefix }))
    const device = (name: string) => new TieredStorage({ local: new IndexedDBStorage({ dbName: name }), remote: remote(), name })
    const a = device(`strands-a-${Date.now()}`)
    const sid = sessionId()
    const left = await converse(strandsAgent(new StrandsStorage({ storage: a }), sid))
    await a.sync()
    expect(await a.pendingCount()).toBe(0)
    const b = device(`strands-b-${Date.now()}`)
    await b.sync()
    // IndexedDB is durable: the stash is not inline in the snapshot, device B must find its keys.
    await expectRestored(new StrandsStorage({ storage: b }), sid, left)
  })
})

describeS3('every key Strands may write syncs through TieredStorage (Memory -> S3)', () => {
  const prefix = uniquePrefix('strands-tiered-keys')
  afterAll(() => wipePrefix(prefix))

  // Outbox entries are `<key>!<op>!<uuidv7>`: a key holding '!' must still be read back whole.
  it("keys with '!', URL and XML specials, and Unicode reach the remote and leave the outbox", async () => {
    const tiered = new TieredStorage({ local: new MemoryStorage(), remote: new S3Storage(s3Options({ prefix })) })
    const storage = new StrandsStorage({ storage: tiered })
    const keys = [
      'notes/a!b',
      'notes/!!',
      'q?x=1#h',
      "it's/&amp;<b>",
      'é/😀',
      'sp ace/+',
      'session/s!/scopes/agent/a/snapshots/snapshot_latest.json',
    ]
    for (const key of keys) await storage.write(key, new TextEncoder().encode(key))
    await tiered.sync()
    expect(await tiered.pendingCount()).toBe(0)
    const remote = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) })
    expect(await remote.list('')).toEqual([...keys].sort())
  })
})

describeS3('both bucket layouts: plain snapshelf storages and StrandsStorage share sessions (real S3)', () => {
  const prefix = uniquePrefix('strands-layout')
  afterAll(() => wipePrefix(prefix))

  it("what the SessionManager writes through StrandsStorage, S3Storage({ prefix: '<prefix>/session' }) reads, lists and deletes", async () => {
    const strands = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) })
    const sid = sessionId()
    const agent = strandsAgent(strands, sid)
    const left = await converse(agent)
    // Two history snapshots (Strands' fresh UUIDv7s) beside latest.
    await agent.sessionManager!.saveSnapshot({ target: agent, isLatest: false })
    await agent.sessionManager!.saveSnapshot({ target: agent, isLatest: false })

    const sessions = new S3Storage(s3Options({ prefix: `${prefix}/session` }))
    const latest = await sessions.loadSnapshot({ location: location(sid) })
    expect(textsOf(latest)).toEqual((left.messages as { content: { text: string }[] }[]).map((m) => m.content[0]!.text))
    expect(latest?.data.state).toEqual({ city: 'Lisbon', days: 3 })
    const ids = await sessions.listSnapshotIds({ location: location(sid) })
    expect(ids).toEqual(await agent.sessionManager!.listSnapshotIds({ target: agent }))
    expect(ids).toHaveLength(2)
    expect(textsOf(await sessions.loadSnapshot({ location: location(sid), snapshotId: ids[0]! }))).toEqual(textsOf(latest))

    // The stash lives beside the sessions, under context/: erase both folders to erase the session.
    await sessions.deleteSession({ sessionId: sid })
    await new S3Storage(s3Options({ prefix: `${prefix}/context` })).deleteSession({ sessionId: sid })
    expect(await strands.list(`session/${sid}/`)).toEqual([])
    expect(await strands.list(`context/${sid}/`)).toEqual([])
    expect(await agent.sessionManager!.listSnapshotIds({ target: agent })).toEqual([])
  })

  it('what a plain S3Storage writes (gzip) under <prefix>/session, a Strands Agent over StrandsStorage restores', async () => {
    const sid = sessionId()
    const snapshot = strandsAgent(new StrandsStorage({ storage: new MemoryStorage() }), sid).takeSnapshot({
      preset: 'session',
    }) as unknown as Snapshot
    snapshot.data.messages = [{ role: 'user', content: [{ text: 'written by a plain storage' }] }]
    snapshot.data.state = { from: 'S3Storage' }
    await new S3Storage(s3Options({ prefix: `${prefix}/session` })).saveSnapshot({
      location: location(sid),
      snapshotId: 'latest',
      isLatest: true,
      snapshot,
    })
    const agent = strandsAgent(new StrandsStorage({ storage: new S3Storage(s3Options({ prefix })) }), sid)
    await agent.initialize()
    expect(agent.messages.map((m) => m.content.map((b) => ('text' in b ? b.text : '')).join(''))).toEqual(['written by a plain storage'])
    expect(agent.appState.getAll()).toEqual({ from: 'S3Storage' })
  })

  it("a SessionManager given storage.namespace('') writes <sessionId>/scopes/… straight under the prefix, where S3Storage({ prefix }) reads it", async () => {
    const strands = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix: `${prefix}/flat` })) })
    const sid = sessionId()
    const agent = strandsAgent(strands, sid)
    // The Agent-level storage still serves the stash; the sessions go to the namespaced view.
    const manager = new SessionManager({ sessionId: sid, storage: strands.namespace('') })
    await manager.saveSnapshot({ target: agent, isLatest: true })
    expect(await strands.list('')).toEqual([`${sid}/scopes/agent/planner/snapshots/snapshot_latest.json`])
    const plain = new S3Storage(s3Options({ prefix: `${prefix}/flat` }))
    expect((await plain.loadSnapshot({ location: location(sid) }))?.scope).toBe('agent')
    await plain.deleteSession({ sessionId: sid })
    expect(await strands.list('')).toEqual([])
  })
})

describeS3("Strands' own unified S3Storage and StrandsStorage share a bucket (real S3)", () => {
  const prefix = uniquePrefix('strands-unified')
  afterAll(() => wipePrefix(prefix))
  const server = s3Server!
  const theirs = (at: string) =>
    new StrandsS3Storage(server.bucket, {
      prefix: at,
      s3Client: new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      }),
    })

  it('an Agent on Strands S3Storage saves; an Agent on ours restores it, and both list the same keys', async () => {
    const at = `${prefix}/theirs`
    const sid = sessionId()
    const left = await converse(strandsAgent(theirs(at), sid))
    const ours = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix: at })) })
    expect(await ours.list('')).toEqual(await theirs(at).list(''))
    await expectRestored(ours, sid, left)
    // Deleting through ours deletes what Strands wrote.
    for (const key of await ours.list(`context/${sid}/`)) await ours.delete(key)
    expect(await theirs(at).list(`context/${sid}/`)).toEqual([])
  })

  it("an Agent on ours (compression 'none') saves; an Agent on Strands S3Storage restores it, byte for byte the same objects", async () => {
    const at = `${prefix}/ours`
    const sid = sessionId()
    const ours = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix: at, compression: 'none' })) })
    const left = await converse(strandsAgent(ours, sid))
    const keys = await theirs(at).list('')
    expect(keys).toEqual(await ours.list(''))
    for (const key of keys) expect(await theirs(at).read(key)).toEqual(await ours.read(key))
    await expectRestored(theirs(at), sid, left)
  })

  it("with compression 'gzip' (the default) Strands reads the gzip bytes as they are, so sharing with Strands needs 'none'", async () => {
    const at = `${prefix}/gzip`
    const ours = new StrandsStorage({ storage: new S3Storage(s3Options({ prefix: at })) })
    await ours.write('notes/a.json', new TextEncoder().encode('{"a":1}'))
    const raw = (await theirs(at).read('notes/a.json'))!
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b])
    expect(new TextDecoder().decode((await ours.read('notes/a.json'))!)).toBe('{"a":1}')
  })
})
