import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { type Backend, BackendSnapshotStore, MemoryBackend, QuotaError, RemoteError, newSnapshotId } from 'snapshelf'
import { HttpStorage, createSnapshotHandler, type SnapshotHandlerOptions } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { rejects, sampleSnapshot } from 'snapshelf/testing'

// The handler's own guarantees, inside workerd over the local R2 binding: per-session
// authorization, structural key validation, body limits, CORS, ETags end to end, and that no
// bad input ever produces a 5xx.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const ALICE = 'Bearer alice-token'
const BOB = 'Bearer bob-token'
/** Example policy: each token owns the sessions starting with its user's name. */
const OWNERS: Record<string, string> = { [ALICE]: 'alice-', [BOB]: 'bob-' }
const authorize: SnapshotHandlerOptions['authorize'] = (request, { sessionId }) => {
  const auth = request.headers.get('authorization') ?? ''
  if (auth === 'Bearer throws') throw new Error('token service down: secret-abc123')
  const owned = OWNERS[auth]
  return owned !== undefined && sessionId.startsWith(owned)
}

const storage = new R2Storage({ bucket, prefix: 'handler-tests' })
const handle = createSnapshotHandler({ storage, authorize, basePath: '/api', maxBodyBytes: 64 * 1024 })
const call = (path: string, init: RequestInit & { auth?: string } = {}): Promise<Response> => {
  const headers = new Headers(init.headers)
  headers.set('authorization', init.auth ?? ALICE)
  // As HttpStorage sends a batch delete: a POST must be JSON (a simple one could come from any page).
  if (init.method === 'POST' && !headers.has('content-type')) headers.set('content-type', 'application/json')
  return handle(new Request(`https://h.test${path}`, { ...init, headers }))
}
const unique = (user: string): string => `${user}-${newSnapshotId().slice(-12)}`
const latestOf = (sessionId: string): string => `${sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`
const historyOf = (sessionId: string, id = newSnapshotId()): string =>
  `${sessionId}/scopes/agent/main/snapshots/immutable_history/snapshot_${id}.json`
const bytes = (n: number, fill = 7): Uint8Array<ArrayBuffer> => new Uint8Array(n).fill(fill)

describe('createSnapshotHandler', () => {
  it('requires authorize and a storage', () => {
    expect(() => createSnapshotHandler({ storage } as never)).toThrow(/authorize/)
    expect(() => createSnapshotHandler({ storage, authorize: true } as never)).toThrow(/authorize/)
    expect(() => createSnapshotHandler({ authorize } as never)).toThrow(/storage/)
    expect(() => createSnapshotHandler(undefined as never)).toThrow(/authorize/)
  })

  it("refuses another session's keys with 403 and touches nothing", async () => {
    const bobs = unique('bob')
    const key = latestOf(bobs)
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(3), auth: BOB })).status).toBe(204)
    for (const [path, init] of [
      [`/api/objects/${key}`, { method: 'GET' }],
      [`/api/objects/${key}`, { method: 'HEAD' }],
      [`/api/objects/${key}`, { method: 'PUT', body: bytes(3, 1) }],
      [`/api/objects/${key}`, { method: 'DELETE' }],
      [`/api/list?prefix=${bobs}/`, {}],
      ['/api/delete', { method: 'POST', body: JSON.stringify({ keys: [key] }) }],
    ] as const) {
      const res = await call(path, init)
      expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(403)
      expect(await res.text()).not.toContain(bobs)
    }
    const stored = await bucket.get(`handler-tests/${key}`)
    expect([...new Uint8Array(await stored!.arrayBuffer())]).toEqual([7, 7, 7])
    expect((await call(`/api/objects/${key}`, { auth: 'Bearer nobody' })).status).toBe(403)
    expect((await call(`/api/objects/${key}`, { auth: '' })).status).toBe(403)
  })

  it('answers a throwing authorize with 401 and leaks nothing of the error', async () => {
    const res = await call(`/api/objects/${latestOf(unique('alice'))}`, { auth: 'Bearer throws' })
    expect(res.status).toBe(401)
    const text = await res.text()
    expect(text).not.toMatch(/secret|token service/)
  })

  it('refuses lists that are not confined to one session', async () => {
    const mine = unique('alice')
    const theirs = unique('bob')
    const cases: [string, number][] = [
      ['/api/list', 400],
      ['/api/list?prefix=', 400],
      ['/api/list?prefix=alice', 400],
      ['/api/list?prefix=/', 400],
      [`/api/list?prefix=%2F${mine}`, 400],
      [`/api/list?prefix=${mine}/&startAfter=${theirs}/x`, 400],
      [`/api/list?prefix=${mine}/&startAfter=..%2F${mine}`, 400],
      [`/api/list?prefix=${mine}/../${theirs}/`, 400],
      [`/api/list?prefix=${mine}//`, 400],
      [`/api/list?prefix=${mine}/.hidden`, 400],
      [`/api/list?prefix=${mine}/&limit=0`, 400],
      [`/api/list?prefix=${mine}/&limit=1001`, 400],
      [`/api/list?prefix=${mine}/&limit=1e3`, 400],
      [`/api/list?prefix=${mine}/&limit=-1`, 400],
      [`/api/list?prefix=${theirs}/`, 403],
      // A repeated parameter: the first one is what is validated, authorized AND listed.
      [`/api/list?prefix=${theirs}/&prefix=${mine}/`, 403],
      [`/api/list?prefix=${mine}/`, 200],
      [`/api/list?prefix=${mine}/scopes/ag&limit=1000`, 200],
    ]
    for (const [path, status] of cases) expect((await call(path)).status, path).toBe(status)
  })

  it('refuses malformed paths, ids and percent-encodings with 400', async () => {
    const s = unique('alice')
    const folder = `${s}/scopes/agent/main/snapshots`
    const bad = [
      `${s}`,
      `${s}/`,
      `${s}/scopes/agent/main/snapshots/`,
      `${s}/scopes/agent/main/snapshots/other.json`,
      `${s}/scopes/agent/main/snapshots/snapshot_latest.json/x`,
      `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_1.json`,
      `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_${newSnapshotId().toUpperCase()}.json`,
      `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_00000000-0000-4000-8000-000000000000.json`,
      `${s}/scope/agent/main/snapshots/snapshot_latest.json`,
      `${s}/scopes/.agent/main/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/ma%20in/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/ma%00in/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/%E2%80%AEmain/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/a%2Fb/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/%zz/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/%E0%A4%A/snapshots/snapshot_latest.json`,
      `${s}/scopes/agent/${'x'.repeat(129)}/snapshots/snapshot_latest.json`,
      `${folder}/snapshot_latest.json%00`,
      `.${s}/scopes/agent/main/snapshots/snapshot_latest.json`,
      `${s}%2F..%2F..%2Fbob-x/scopes/agent/main/snapshots/snapshot_latest.json`,
    ]
    for (const key of bad) {
      // Deletes also accept Strands' own history names (snapshot_<id>.json), so `deleteSession`
      // can clear a bucket Strands wrote; those three are tested for reads and writes only.
      const strandsName = /immutable_history\/snapshot_[\w-]+\.json$/.test(key)
      for (const method of strandsName ? ['GET', 'PUT'] : ['GET', 'PUT', 'DELETE']) {
        const res = await call(`/api/objects/${key}`, { method, body: method === 'PUT' ? bytes(1) : undefined })
        expect(res.status, `${method} ${key}`).toBe(400)
      }
    }
    // Nothing reached storage for this session.
    expect((await bucket.list({ prefix: `handler-tests/${s}/` })).objects).toEqual([])
  })

  it('never answers bad input with a 5xx', async () => {
    const s = unique('alice')
    const key = latestOf(s)
    const requests: [string, RequestInit & { auth?: string }][] = [
      ['/', {}],
      ['/api', {}],
      ['/api/', {}],
      ['/api/nothing', {}],
      ['/api/objects', {}],
      ['/api/objects/', {}],
      ['/api/%', {}],
      ['/api/objects/%', {}],
      ['/api/objects/%C0%AF', {}],
      ['/api/objects/%ED%A0%80', {}],
      [`/api/objects/${key}`, { method: 'PATCH' }],
      [`/api/objects/${key}`, { method: 'POST', body: 'x' }],
      [`/api/objects/${key}`, { method: 'PROPFIND' }],
      [`/api/objects/${key}`, { method: 'OPTIONS' }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-match': 'no-quotes' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-match': '"a", "b"' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-match': '*' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-match': '"%zz"' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-none-match': '"abc"' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'if-match': '"a"', 'if-none-match': '*' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'content-length': 'abc' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: 'x', headers: { 'content-length': '99999999999999999999999' } }],
      [`/api/objects/${key}`, { method: 'PUT', body: bytes(200 * 1024) }],
      ['/api/list', { method: 'POST' }],
      [`/api/list?prefix=${'%'.repeat(5)}`, {}],
      [`/api/list?prefix=${'a/'.repeat(5000)}`, {}],
      [`/api/list?prefix=${s}/&limit=${'9'.repeat(400)}`, {}],
      ['/api/delete', { method: 'GET' }],
      ['/api/delete', { method: 'POST' }],
      ['/api/delete', { method: 'POST', body: 'not json' }],
      ['/api/delete', { method: 'POST', body: 'null' }],
      ['/api/delete', { method: 'POST', body: '{"keys":"x"}' }],
      ['/api/delete', { method: 'POST', body: '{"keys":[]}' }],
      ['/api/delete', { method: 'POST', body: '{"keys":[null]}' }],
      ['/api/delete', { method: 'POST', body: '{"keys":[1,2]}' }],
      ['/api/delete', { method: 'POST', body: '{"keys":[{"toString":"x"}]}' }],
      ['/api/delete', { method: 'POST', body: JSON.stringify({ keys: [key, latestOf(unique('alice'))] }) }],
      ['/api/delete', { method: 'POST', body: JSON.stringify({ keys: Array.from({ length: 1001 }, () => key) }) }],
      ['/api/delete', { method: 'POST', body: JSON.stringify({ keys: ['../../x'] }) }],
      ['/api/delete', { method: 'POST', body: JSON.stringify({ keys: [key] }), auth: 'Bearer throws' }],
      ['/api/delete', { method: 'POST', body: `{"keys":["${'a'.repeat(2 << 20)}"]}` }],
      [`/api/objects/${key}`, { auth: 'Bearer throws' }],
    ]
    for (const [path, init] of requests) {
      const res = await call(path, init)
      expect(res.status, `${init.method ?? 'GET'} ${path.slice(0, 80)}`).toBeGreaterThanOrEqual(400)
      expect(res.status, `${init.method ?? 'GET'} ${path.slice(0, 80)}`).toBeLessThan(500)
    }
  })

  it('refuses bodies over maxBodyBytes with 413, by Content-Length and while streaming', async () => {
    const key = latestOf(unique('alice'))
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(64 * 1024) })).status).toBe(204)
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(64 * 1024 + 1) })).status).toBe(413)
    // A stream has no Content-Length: the handler counts while reading and stops early.
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 1000) controller.close()
        else controller.enqueue(bytes(16 * 1024, 9))
      },
    })
    const res = await call(`/api/objects/${key}`, { method: 'PUT', body: stream })
    expect(res.status).toBe(413)
    expect(pulled).toBeLessThan(100)
    // A lying Content-Length is refused before reading anything.
    expect(
      (await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(10), headers: { 'content-length': String(1 << 30) } })).status,
    ).toBe(413)
    const stored = await bucket.get(`handler-tests/${key}`)
    expect(stored!.size).toBe(64 * 1024)
  })

  it('carries ETags end to end: create-only, If-Match, weak tags, stale tags', async () => {
    const key = latestOf(unique('alice'))
    const created = await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(1, 1), headers: { 'if-none-match': '*' } })
    expect(created.status).toBe(204)
    const etag = created.headers.get('etag')!
    expect(etag).toBe(`"${(await bucket.head(`handler-tests/${key}`))!.etag}"`)
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(1, 2), headers: { 'if-none-match': '*' } })).status).toBe(412)
    const got = await call(`/api/objects/${key}`)
    expect(got.headers.get('etag')).toBe(etag)
    expect(got.headers.get('cache-control')).toBe('no-store')
    expect([...new Uint8Array(await got.arrayBuffer())]).toEqual([1])
    const head = await call(`/api/objects/${key}`, { method: 'HEAD' })
    expect([head.status, head.headers.get('etag'), head.headers.get('snapshelf-size')]).toEqual([200, etag, '1'])
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(1, 3), headers: { 'if-match': '"stale"' } })).status).toBe(412)
    const swapped = await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(1, 4), headers: { 'if-match': `W/${etag}` } })
    expect(swapped.status).toBe(204)
    expect(swapped.headers.get('etag')).not.toBe(etag)
    expect((await call(`/api/objects/${key}`, { method: 'PUT', body: bytes(1, 5), headers: { 'if-match': etag } })).status).toBe(412)
    const listed = (await (await call(`/api/list?prefix=${key.split('/')[0]}/`)).json()) as { entries: { key: string; etag: string }[] }
    expect(listed.entries).toEqual([{ key, size: 1, etag: swapped.headers.get('etag') }])
    expect((await call(`/api/objects/${historyOf(key.split('/')[0]!)}`)).status).toBe(404)
  })

  it('keeps updateLatest atomic through HTTP: 16 clients, no lost update', async () => {
    const sessionId = unique('alice')
    const location = { sessionId, scope: 'agent', scopeId: 'main' }
    const client = (): HttpStorage =>
      new HttpStorage({
        baseUrl: 'https://h.test/api',
        fetch: (input, init) => handle(new Request(input, init)),
        headers: { authorization: ALICE },
      })
    await client().commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('n', { n: 0 }) })
    await Promise.all(
      Array.from({ length: 16 }, () =>
        client().updateLatest({
          location,
          maxAttempts: 200,
          mutate: (cur) => ({ ...cur!, data: { ...cur!.data, n: (cur!.data.n as number) + 1 } }),
        }),
      ),
    )
    expect((await client().loadSnapshot({ location }))!.data.n).toBe(16)
  })

  it('answers CORS preflights as configured and exposes ETag', async () => {
    const withCors = createSnapshotHandler({
      storage,
      authorize,
      basePath: '/api',
      cors: { origins: ['https://app.example'], maxAgeSeconds: 60 },
    })
    const preflight = (origin: string, h = withCors): Promise<Response> =>
      h(
        new Request(`https://h.test/api/objects/${latestOf('alice-x')}`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, if-match' },
        }),
      )
    const ok = await preflight('https://app.example')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(ok.headers.get('access-control-allow-methods')).toContain('PUT')
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization.*if-match.*if-none-match/)
    expect(ok.headers.get('access-control-max-age')).toBe('60')
    expect(ok.headers.get('vary')).toContain('Origin')
    const evil = await preflight('https://evil.example')
    expect(evil.status).toBe(403)
    expect(evil.headers.get('access-control-allow-origin')).toBe(null)
    expect((await preflight('https://app.example', handle)).status).toBe(405)
    const any = createSnapshotHandler({ storage, authorize, basePath: '/api', cors: { origins: '*' } })
    expect((await preflight('https://whoever.example', any)).headers.get('access-control-allow-origin')).toBe('*')
    const key = latestOf(unique('alice'))
    const put = await withCors(
      new Request(`https://h.test/api/objects/${key}`, {
        method: 'PUT',
        body: bytes(2),
        headers: { origin: 'https://app.example', authorization: ALICE },
      }),
    )
    expect(put.status).toBe(204)
    expect(put.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(put.headers.get('access-control-expose-headers')).toMatch(/ETag/)
    const denied = await withCors(
      new Request(`https://h.test/api/objects/${key}`, { headers: { origin: 'https://evil.example', authorization: ALICE } }),
    )
    expect(denied.headers.get('access-control-allow-origin')).toBe(null)
  })

  it('maps server answers to typed client errors', async () => {
    const location = { sessionId: unique('bob'), scope: 'agent', scopeId: 'main' }
    const over = (h: (r: Request) => Promise<Response>, auth = ALICE): HttpStorage =>
      new HttpStorage({
        baseUrl: 'https://h.test/api',
        fetch: (input, init) => h(new Request(input, init)),
        headers: { authorization: auth },
        retries: 0,
      })
    const snapshot = sampleSnapshot('x')
    await rejects(() => over(handle).loadSnapshot({ location }), 'ERR_AUTH', '403')
    await rejects(() => over(handle, 'Bearer throws').loadSnapshot({ location }), 'ERR_AUTH', '401')
    const big = sampleSnapshot('big', { noise: Array.from({ length: 40_000 }, () => Math.random().toString(36)).join('') })
    await rejects(() => over(handle, BOB).commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: big }), 'ERR_TOO_LARGE', '413')
    const failing = (error: Error): Backend =>
      Object.assign(new MemoryBackend(), { get: () => Promise.reject(error), put: () => Promise.reject(error) })
    const logged: unknown[] = []
    const broken = createSnapshotHandler({
      storage: new BackendSnapshotStore({ backend: failing(new Error('disk on fire at 10.0.0.7')) }),
      authorize: () => true,
      basePath: '/api',
      onError: (e) => logged.push(e),
    })
    const e502 = await rejects(() => over(broken).loadSnapshot({ location }), 'ERR_REMOTE', '502')
    expect(e502).toBeInstanceOf(RemoteError)
    expect(e502.status).toBe(502)
    expect(e502.message).not.toContain('10.0.0.7')
    expect(logged).toHaveLength(1)
    const full = createSnapshotHandler({
      storage: new BackendSnapshotStore({ backend: failing(new QuotaError('full')) }),
      authorize: () => true,
      basePath: '/api',
    })
    const e507 = await rejects(() => over(full).commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot }), 'ERR_QUOTA', '507')
    expect(e507).toBeInstanceOf(QuotaError)
    const e503 = await rejects(
      () => over(async () => new Response('busy', { status: 503 })).loadSnapshot({ location }),
      'ERR_REMOTE',
      '503',
    )
    expect(e503.status).toBe(503)
  })

  it('lets authorize read the body (a copy) of an upload and of a batch delete', async () => {
    const read: number[] = []
    const reading = createSnapshotHandler({
      storage,
      basePath: '/api',
      maxBodyBytes: 64 * 1024,
      authorize: async (request, access) => {
        if (request.body) read.push((await request.arrayBuffer()).byteLength)
        return authorize(request, access)
      },
    })
    const key = latestOf(unique('alice'))
    const headers = { authorization: ALICE }
    expect(
      (await reading(new Request(`https://h.test/api/objects/${key}`, { method: 'PUT', body: bytes(60 * 1024, 5), headers }))).status,
    ).toBe(204)
    const stored = await bucket.get(`handler-tests/${key}`)
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bytes(60 * 1024, 5))
    const body = JSON.stringify({ keys: [key] })
    const batch = new Request('https://h.test/api/delete', {
      method: 'POST',
      body,
      headers: { ...headers, 'content-type': 'application/json' },
    })
    expect((await reading(batch)).status).toBe(204)
    expect(read).toEqual([60 * 1024, body.length])
    expect(await bucket.head(`handler-tests/${key}`)).toBe(null)
  })

  it('deletes in batches within one session, including Strands-style history names', async () => {
    const s = unique('alice')
    const keys = [latestOf(s), historyOf(s), historyOf(s), `${s}/scopes/agent/main/snapshots/immutable_history/snapshot_00001.json`]
    for (const k of keys) await bucket.put(`handler-tests/${k}`, bytes(1))
    expect((await call(`/api/objects/${keys[3]}`)).status, 'legacy names are not readable').toBe(400)
    expect((await call('/api/delete', { method: 'POST', body: JSON.stringify({ keys }) })).status).toBe(204)
    expect((await bucket.list({ prefix: `handler-tests/${s}/` })).objects).toEqual([])
  })
})
