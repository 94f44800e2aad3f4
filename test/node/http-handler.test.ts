import { describe, expect, it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { createSnapshotHandler } from 'snapshelf/http'

// Handler guarantees checked in Node (the full handler suite runs in workerd:
// test/workers/http-handler.test.ts).
const latest = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'

describe('createSnapshotHandler CORS', () => {
  it('never matches an origin by substring, even when one origin is given as a bare string', async () => {
    const storage = new MemoryStorage()
    // A JavaScript caller (or a loose config file) passing one origin instead of a list.
    const handle = createSnapshotHandler({ storage, authorize: () => true, cors: { origins: 'https://app.example.com' as never } })
    const preflight = (origin: string): Promise<Response> =>
      handle(new Request(`https://h.test/objects/${latest}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT' } }))
    for (const evil of ['https://app.example.co', 'https://app.ex', 'https://a', 'h']) {
      const res = await preflight(evil)
      expect(res.status, evil).toBe(403)
      expect(res.headers.get('access-control-allow-origin'), evil).toBe(null)
      const get = await handle(new Request(`https://h.test/objects/${latest}`, { headers: { origin: evil } }))
      expect(get.headers.get('access-control-allow-origin'), evil).toBe(null)
    }
  })
})

describe('createSnapshotHandler path tricks', () => {
  it("no encoding, dot segment, case or query trick reaches another session's key, and none is a 5xx", async () => {
    const storage = new MemoryStorage({ prefix: 'root' })
    const bobKey = 'root/bob/scopes/agent/main/snapshots/snapshot_latest.json'
    await storage.backend.put(bobKey, new Uint8Array([9]))
    const asked = new Set<string>()
    // Alice may touch only her own session.
    const handle = createSnapshotHandler({ storage, basePath: '/api', authorize: (_r, { sessionId }) => (asked.add(sessionId), sessionId === 'alice') })
    const tail = 'scopes/agent/main/snapshots/snapshot_latest.json'
    const paths = [
      `/api/objects/alice/../bob/${tail}`,
      `/api/objects/alice/%2e%2e/bob/${tail}`,
      `/api/objects/alice/%2E%2E/bob/${tail}`,
      `/api/objects/alice%2F..%2Fbob/${tail}`,
      `/api/objects/alice/scopes/../../bob/${tail}`,
      `/api/objects/%252e%252e/bob/${tail}`,
      `/api/objects//bob/${tail}`,
      `/api/objects/bob%00/${tail}`,
      `/api/objects/b%C3%B6b/${tail}`,
      `/api/objects/alice/${tail}/`,
      `/api/objects/alice/${tail}?key=bob/${tail}`,
      `/api/objects/alice/${tail}%3Fkey=../bob`,
      `/api/objects/alice/${tail}#../../bob`,
      '/api/objects/alice/scopes/agent/main/snapshots/..%2F..%2F..%2F..%2F..%2Fbob/' + tail,
      '/api/objects/.snapshelf/outbox/x',
      '/api/list?prefix=alice/&startAfter=bob/',
      '/api/list?prefix=alice',
      '/api/list?prefix=alice/..',
      '/api/list?prefix=alice/../bob/',
      '/api/list?prefix=alice/.snapshelf/',
      '/api/list?prefix=/',
      '/api/list?prefix=alice/&limit=1e3',
      '/api/list?prefix=alice/&limit=-1',
      '/api/list?prefix=alice/&prefix=bob/',
      '/api/%6Cist?prefix=alice/',
    ]
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'POST']) {
      for (const path of paths) {
        const res = await handle(new Request(`https://h.test${path}`, { method, body: method === 'PUT' || method === 'POST' ? '{"keys":[]}' : undefined }))
        expect(res.status, `${method} ${path}`).toBeLessThan(500)
        await res.arrayBuffer()
      }
    }
    for (const keys of [[`alice/${tail}`, `bob/${tail}`], [`alice/${tail}`, `alice/../bob/${tail}`], [null], [{}], 'x']) {
      const res = await handle(new Request('https://h.test/api/delete', { method: 'POST', body: JSON.stringify({ keys }) }))
      expect(res.status, JSON.stringify(keys)).toBeGreaterThanOrEqual(400)
      expect(res.status, JSON.stringify(keys)).toBeLessThan(500)
    }
    // Whatever the trick, authorize was asked about the session the key really names, and bob's bytes are untouched.
    expect([...asked].every((s) => s === 'alice' || s === 'bob')).toBe(true)
    expect((await storage.backend.get(bobKey))!.body).toEqual(new Uint8Array([9]))
  })
})
