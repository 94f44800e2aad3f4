import { afterAll, expect, it } from 'vitest'
import { newSnapshotId } from 'snapshelf'
import { createSnapshotHandler, HttpStorage } from 'snapshelf/http'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { countingFetch, describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// Snapshot metadata on a real S3 server (Ceph RGW): what travels as headers, what comes back,
// and what listing it costs (ListObjectsV2 carries no user metadata).
const prefix = uniquePrefix('meta')

describeS3('S3 snapshot metadata (real S3)', () => {
  afterAll(() => wipePrefix(prefix))

  it('travels as signed x-amz-meta-<name> headers, percent-encoded, and comes back from GET and HEAD', async () => {
    const { fetch, seen } = countingFetch()
    const storage = new S3Storage(s3Options({ prefix, fetch }))
    const location = { sessionId: 'headers', scope: 'agent', scopeId: 'main' }
    const metadata = { title: ' Résumé 100% ', turn: '3', tokens: '5310' }
    const { snapshotId } = await storage.commitSnapshot({ location, snapshot: sampleSnapshot(1), metadata })
    const puts = seen.filter((r) => r.method === 'PUT')
    expect(puts).toHaveLength(2)
    for (const put of puts) {
      expect(put.headers.get('x-amz-meta-title')).toBe('%20R%C3%A9sum%C3%A9 100%25%20')
      expect(put.headers.get('x-amz-meta-tokens')).toBe('5310')
      // Signed: SigV4 lists it among the signed headers, so a proxy cannot change it unnoticed.
      expect(put.headers.get('authorization')).toContain('x-amz-meta-title')
    }
    // Read back from the server itself, not from anything we kept.
    const backend = new S3Backend(s3Options())
    const key = `${prefix}/headers/scopes/agent/main/snapshots/immutable_history/snapshot_${snapshotId}.json`
    const stored = { title: '%20R%C3%A9sum%C3%A9 100%25%20', turn: '3', tokens: '5310' }
    expect((await backend.head(key))?.metadata).toEqual(stored)
    expect((await backend.get(key))?.metadata).toEqual(stored)
    expect((await storage.listSnapshots({ location, metadata: 'head' })).items[0]?.metadata).toEqual(metadata)
  })

  it("a history create's write token (x-amz-meta-snapshelf-write) is never reported as metadata", async () => {
    const backend = new S3Backend(s3Options())
    const key = `${prefix}/tokens/${newSnapshotId()}`
    const { fetch, seen } = countingFetch()
    const counted = new S3Backend(s3Options({ fetch }))
    expect(await counted.put(key, new Uint8Array([1]), { ifNoneMatch: '*', metadata: { turn: '1' } })).not.toBeNull()
    expect(seen[0]?.headers.get('x-amz-meta-snapshelf-write')).toBeTruthy()
    expect((await backend.head(key))?.metadata).toEqual({ turn: '1' })
    expect(await backend.put(`${key}-none`, new Uint8Array([1]), { ifNoneMatch: '*' })).not.toBeNull()
    expect((await backend.head(`${key}-none`))?.metadata).toBeUndefined()
  })

  it('metadata another tool wrote that snapshelf never could is skipped on read, directly and over HTTP', async () => {
    const storage = new S3Storage(s3Options({ prefix }))
    const location = { sessionId: 'foreign', scope: 'agent', scopeId: 'main' }
    await storage.saveSnapshot({ location, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('f'), metadata: { turn: '1' } })
    // Rewritten by "another tool": a 70-character name and one in our own namespace, beside ours.
    const key = `${prefix}/foreign/scopes/agent/main/snapshots/snapshot_latest.json`
    const body = (await new S3Backend(s3Options()).get(key))!.body
    // aws4fetch signs whatever headers we give it: put the foreign ones through a plain signed PUT.
    const { AwsClient } = await import('aws4fetch')
    const s = s3Options()
    const client = new AwsClient({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, service: 's3', region: s.region })
    const res = await client.fetch(`${s.endpoint}/${s.bucket}/${key}`, {
      method: 'PUT',
      body: body as Uint8Array<ArrayBuffer>,
      headers: { 'x-amz-meta-turn': '1', [`x-amz-meta-${'n'.repeat(70)}`]: 'x', 'x-amz-meta-snapshelf-x': 'y' },
    })
    expect(res.status).toBe(200)
    expect((await new S3Backend(s3Options()).head(key))?.metadata).toEqual({ turn: '1' })
    const handle = createSnapshotHandler({ storage, authorize: () => true })
    const http = new HttpStorage({ baseUrl: 'http://local.test', fetch: (u, init) => handle(new Request(u, init)) })
    expect((await http.loadSnapshot({ location }))?.appData.tag).toBe('f')
    expect((await http.backend.head('foreign/scopes/agent/main/snapshots/snapshot_latest.json'))?.metadata).toEqual({ turn: '1' })
  })

  it('the backend refuses metadata that is not in stored form before any request', async () => {
    const { fetch, seen } = countingFetch()
    const backend = new S3Backend(s3Options({ fetch }))
    const bad: Record<string, string>[] = [{ title: 'Café' }, { Title: 'x' }, { a: 'line\nbreak' }, { a: ' x' }]
    for (const metadata of bad) {
      await expect(backend.put(`${prefix}/bad`, new Uint8Array([1]), { metadata })).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
    }
    expect(seen).toHaveLength(0)
  })

  it("listing costs: one ListObjectsV2 per page by default, plus one HEAD per item with metadata: 'head' (8 at a time)", async () => {
    const storage = new S3Storage(s3Options({ prefix }))
    const location = { sessionId: 'listing', scope: 'agent', scopeId: 'main' }
    const n = 40
    for (let i = 0; i < n; i++) {
      await storage.saveSnapshot({
        location,
        snapshotId: newSnapshotId(),
        isLatest: false,
        snapshot: sampleSnapshot(i),
        metadata: { turn: `${i}` },
      })
    }
    const { fetch, seen } = countingFetch()
    const lister = new S3Storage(s3Options({ prefix, fetch }))
    let t = performance.now()
    const plain = await lister.listSnapshots({ location })
    const plainMs = performance.now() - t
    expect(seen.map((r) => r.method)).toEqual(['GET'])
    expect(plain.items.every((i) => i.metadata === undefined)).toBe(true)
    seen.length = 0
    t = performance.now()
    const headed = await lister.listSnapshots({ location, metadata: 'head' })
    const headedMs = performance.now() - t
    expect(seen.filter((r) => r.method === 'HEAD')).toHaveLength(n)
    expect(headed.items.map((i) => i.metadata?.turn)).toEqual(Array.from({ length: n }, (_, i) => `${i}`))
    console.log(`S3 listSnapshots of ${n}: ${plainMs.toFixed(0)} ms listed, ${headedMs.toFixed(0)} ms with a HEAD per item (8 in parallel)`)
    // The catalogue does not HEAD: S3 sessions carry no metadata.
    seen.length = 0
    const session = (await lister.listSessions({ limit: 1000 })).items.find((s) => s.sessionId === 'listing')
    expect(session).toBeDefined()
    expect(session?.metadata).toBeUndefined()
    expect(seen.filter((r) => r.method === 'HEAD')).toHaveLength(0)
  })
})
