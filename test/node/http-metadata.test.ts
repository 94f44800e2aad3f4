import { afterAll, describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// Snapshot metadata over the HTTP protocol: the Snapshelf-Metadata header both ways, /list's
// metadataListed, /sessions items, CORS, and a handler whose storage (S3) lists none.
const base = 'http://local.test/api'

function chain(server: MemoryStorage | S3Storage, seen: Request[] = []) {
  const handle = createSnapshotHandler({
    storage: server,
    basePath: '/api',
    authorize: () => true,
    cors: { origins: ['https://app.test'] },
  })
  const client = new HttpStorage({
    baseUrl: base,
    fetch: (u, init) => {
      const request = new Request(u, init)
      seen.push(request.clone())
      return handle(request)
    },
  })
  return { handle, client, seen }
}

const location = { sessionId: 'chat-1', scope: 'agent', scopeId: 'main' }

describe('HTTP snapshot metadata (memory behind the handler)', () => {
  it('PUT carries Snapshelf-Metadata (stored form, JSON); GET and HEAD return it; /list lists it', async () => {
    const server = new MemoryStorage()
    const { handle, client, seen } = chain(server)
    const metadata = { title: 'Résumé "draft"', turn: '2' }
    const { snapshotId } = await client.commitSnapshot({ location, snapshot: sampleSnapshot(1), metadata })
    const puts = seen.filter((r) => r.method === 'PUT')
    expect(puts.map((r) => r.headers.get('snapshelf-metadata'))).toEqual([
      '{"title":"R%C3%A9sum%C3%A9 \\"draft\\"","turn":"2"}',
      '{"title":"R%C3%A9sum%C3%A9 \\"draft\\"","turn":"2"}',
    ])
    // Stored on the server as sent.
    const key = `chat-1/scopes/agent/main/snapshots/immutable_history/snapshot_${snapshotId}.json`
    expect((await server.backend.head(key))?.metadata).toEqual({ title: 'R%C3%A9sum%C3%A9 "draft"', turn: '2' })
    const head = await handle(new Request(`${base}/objects/${key}`, { method: 'HEAD' }))
    expect(head.headers.get('snapshelf-metadata')).toBe('{"title":"R%C3%A9sum%C3%A9 \\"draft\\"","turn":"2"}')
    const list = await (await handle(new Request(`${base}/list?prefix=chat-1/scopes/agent/main/snapshots/immutable_history/`))).json()
    expect(list).toEqual({
      entries: [{ key, size: expect.any(Number), metadata: { title: 'R%C3%A9sum%C3%A9 "draft"', turn: '2' } }],
      truncated: false,
      metadataListed: true,
    })
    seen.length = 0
    expect((await client.listSnapshots({ location })).items[0]?.metadata).toEqual(metadata)
    expect(seen.map((r) => r.method)).toEqual(['GET'])
    // /sessions: decoded values, JSON text.
    const sessions = await (await handle(new Request(`${base}/sessions`))).json()
    expect(sessions.items[0]).toMatchObject({ sessionId: 'chat-1', metadata })
    expect((await client.listSessions()).items[0]?.metadata).toEqual(metadata)
  })

  it('a PUT whose Snapshelf-Metadata is not stored metadata is 400, and nothing is written', async () => {
    const server = new MemoryStorage()
    const { handle } = chain(server)
    const key = `chat-1/scopes/agent/main/snapshots/immutable_history/snapshot_${newSnapshotId()}.json`
    for (const header of ['not json', '["x"]', '{"Title":"x"}', '{"a":"Café"}', '{"a":" x"}', '{"a":3}', `{"a":"${'x'.repeat(1100)}"}`]) {
      const res = await handle(
        new Request(`${base}/objects/${key}`, { method: 'PUT', body: '{"x":1}', headers: { 'snapshelf-metadata': header } }),
      )
      expect([header, res.status]).toEqual([header, 400])
    }
    expect(await server.backend.head(key)).toBeNull()
  })

  it('CORS: the preflight allows Snapshelf-Metadata and answers expose it', async () => {
    const { handle } = chain(new MemoryStorage())
    const preflight = await handle(new Request(`${base}/objects/x`, { method: 'OPTIONS', headers: { origin: 'https://app.test' } }))
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Snapshelf-Metadata')
    const answer = await handle(new Request(`${base}/sessions`, { headers: { origin: 'https://app.test' } }))
    expect(answer.headers.get('access-control-expose-headers')).toContain('Snapshelf-Metadata')
  })

  it('a client refuses an answer whose Snapshelf-Metadata is not stored metadata (not the handler’s)', async () => {
    const server = new MemoryStorage()
    const { handle } = chain(server)
    await server.commitSnapshot({ location, snapshot: sampleSnapshot(1), metadata: { turn: '1' } })
    const client = new HttpStorage({
      baseUrl: base,
      fetch: async (u, init) => {
        const res = await handle(new Request(u, init))
        const headers = new Headers(res.headers)
        headers.set('snapshelf-metadata', '{"Turn":"1"}')
        return new Response(res.body, { status: res.status, headers })
      },
    })
    await expect(client.backend.head('chat-1/scopes/agent/main/snapshots/snapshot_latest.json')).rejects.toMatchObject({
      code: 'ERR_REMOTE',
    })
  })
})

const prefix = uniquePrefix('http-meta')
describeS3('HTTP snapshot metadata (S3 behind the handler)', () => {
  afterAll(() => wipePrefix(prefix))
  it("/list says nothing of metadata (S3 lists none); metadata: 'head' reads it through HEAD", async () => {
    const { client, seen } = chain(new S3Storage(s3Options({ prefix })))
    for (let i = 0; i < 3; i++) await client.commitSnapshot({ location, snapshot: sampleSnapshot(i), metadata: { turn: `${i}` } })
    seen.length = 0
    const plain = await client.listSnapshots({ location })
    expect(plain.items.map((i) => i.metadata)).toEqual([undefined, undefined, undefined])
    expect(seen.map((r) => r.method)).toEqual(['GET'])
    seen.length = 0
    const headed = await client.listSnapshots({ location, metadata: 'head' })
    expect(headed.items.map((i) => i.metadata)).toEqual([{ turn: '0' }, { turn: '1' }, { turn: '2' }])
    expect(seen.map((r) => r.method)).toEqual(['GET', 'HEAD', 'HEAD', 'HEAD'])
    expect((await client.listSessions()).items.find((s) => s.sessionId === 'chat-1')?.metadata).toBeUndefined()
  })
})
