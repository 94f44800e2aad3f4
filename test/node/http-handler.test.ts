import { describe, expect, it } from 'vitest'
import { MemoryStorage, ValidationError, newSnapshotId } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { sampleSnapshot } from 'snapshelf/testing'

// Handler guarantees checked in Node (the full handler suite runs in workerd:
// test/workers/http-handler.test.ts).
const latest = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'

describe('createSnapshotHandler CORS', () => {
  it('never matches an origin by substring, and refuses one origin given as a bare string', async () => {
    const storage = new MemoryStorage()
    // A JavaScript caller (or a loose config file) passing one origin instead of a list: refused
    // up front, since `'https://app.example.com'.includes('https://app.example.co')`.
    expect(() => createSnapshotHandler({ storage, authorize: () => true, cors: { origins: 'https://app.example.com' as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'cors.origins' }),
    )
    const handle = createSnapshotHandler({ storage, authorize: () => true, cors: { origins: ['https://app.example.com'] } })
    const preflight = (origin: string): Promise<Response> =>
      handle(
        new Request(`https://h.test/objects/${latest}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT' } }),
      )
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
    const handle = createSnapshotHandler({
      storage,
      basePath: '/api',
      authorize: (_r, { sessionId }) => {
        asked.add(sessionId)
        return sessionId === 'alice'
      },
    })
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
      `/api/objects/alice/scopes/agent/main/snapshots/..%2F..%2F..%2F..%2F..%2Fbob/${tail}`,
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
        const res = await handle(
          new Request(`https://h.test${path}`, { method, body: method === 'PUT' || method === 'POST' ? '{"keys":[]}' : undefined }),
        )
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

describe('createSnapshotHandler upload integrity', () => {
  const key = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'
  const url = `https://h.test/objects/${key}`
  const setup = async () => {
    const storage = new MemoryStorage()
    await storage.backend.put(key, new Uint8Array([1, 2, 3]))
    const handle = createSnapshotHandler({ storage, authorize: () => true })
    const stored = async (): Promise<number[]> => [...(await storage.backend.get(key))!.body]
    return { storage, handle, stored }
  }
  const sha256 = async (bytes: Uint8Array): Promise<string> =>
    `sha-256=:${Buffer.from(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)).toString('base64')}:`
  /** A chunked upload (no Content-Length) that ends cleanly after `sent` of its bytes, as a cut-off one can reach a Worker. */
  const cutOff = (bytes: Uint8Array, sent: number): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, sent))
        controller.close()
      },
    })
  const whole = new Uint8Array(4096).fill(7)

  it('refuses an upload cut off on the way (it ends cleanly, short of its digest) and keeps the stored object', async () => {
    const { handle, stored } = await setup()
    const digest = await sha256(whole)
    const res = await handle(
      new Request(url, { method: 'PUT', body: cutOff(whole, 1000), duplex: 'half', headers: { 'content-digest': digest } } as RequestInit),
    )
    expect(res.status).toBe(400)
    expect(await stored()).toEqual([1, 2, 3])
    const ok = await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-digest': digest } }))
    expect(ok.status).toBe(204)
    expect((await stored()).length).toBe(4096)
  })

  it('refuses a body that disagrees with its Content-Length, shorter or longer', async () => {
    const { handle, stored } = await setup()
    for (const declared of ['4097', '5000', '4095', '1']) {
      const res = await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-length': declared } }))
      expect(res.status, declared).toBe(400)
    }
    const stream = await handle(
      new Request(url, { method: 'PUT', body: cutOff(whole, 10), duplex: 'half', headers: { 'content-length': '4096' } } as RequestInit),
    )
    expect(stream.status).toBe(400)
    for (const declared of ['abc', '-1', '1e3', '']) {
      const res = await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-length': declared } }))
      expect(res.status, declared).toBe(400)
    }
    expect(await stored()).toEqual([1, 2, 3])
    expect((await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-length': '4096' } }))).status).toBe(204)
  })

  it('refuses an empty body and a malformed or mismatched digest', async () => {
    const { handle, stored } = await setup()
    expect((await handle(new Request(url, { method: 'PUT' }))).status).toBe(400)
    expect((await handle(new Request(url, { method: 'PUT', body: new Uint8Array(0) }))).status).toBe(400)
    expect(
      (
        await handle(
          new Request(url, { method: 'PUT', body: new Uint8Array(0), headers: { 'content-digest': await sha256(new Uint8Array(0)) } }),
        )
      ).status,
    ).toBe(400)
    const other = await sha256(new Uint8Array([9]))
    for (const digest of [other, 'sha-256=:not base64:', 'sha-512=:abc:', 'sha-256=abc', '']) {
      const res = await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-digest': digest } }))
      expect(res.status, digest).toBe(400)
    }
    expect(await stored()).toEqual([1, 2, 3])
    // Members of other algorithms are skipped (RFC 9530), and a client without a digest is still served.
    const both = `sha-512=:${'A'.repeat(86)}==:, ${await sha256(whole)}`
    expect((await handle(new Request(url, { method: 'PUT', body: whole, headers: { 'content-digest': both } }))).status).toBe(204)
    expect((await handle(new Request(url, { method: 'PUT', body: new Uint8Array([5]) }))).status).toBe(204)
    expect(await stored()).toEqual([5])
  })

  it('lets cross-origin pages send the digest (CORS allow-headers)', async () => {
    const handle = createSnapshotHandler({
      storage: new MemoryStorage(),
      authorize: () => true,
      cors: { origins: ['https://app.example'] },
    })
    const preflight = await handle(
      new Request(url, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-digest',
        },
      }),
    )
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/(^|, )content-digest(,|$)/i)
  })

  it('HttpStorage sends the digest, so a body truncated in transit is refused and the stored snapshot kept', async () => {
    const storage = new MemoryStorage()
    const handle = createSnapshotHandler({ storage, authorize: () => true })
    let cut = false
    // A proxy that forwards the headers but only part of the body of the first PUT.
    const lossy = async (input: string, init: RequestInit): Promise<Response> => {
      if (init.method === 'PUT' && cut) {
        cut = false
        const body = new Uint8Array(init.body as Uint8Array)
        return handle(new Request(input, { ...init, body: cutOff(body, body.length >> 1), duplex: 'half' } as RequestInit))
      }
      return handle(new Request(input, init))
    }
    const client = new HttpStorage({ baseUrl: 'https://h.test', fetch: lossy, retries: 0 })
    const location = { sessionId: 'alice', scope: 'agent', scopeId: 'main' }
    await client.commitSnapshot({
      location,
      snapshotId: newSnapshotId(),
      snapshot: sampleSnapshot('first', { pad: 'p'.repeat(5000) }),
    })
    cut = true
    await expect(
      client.saveSnapshot({
        location,
        snapshotId: 'latest',
        isLatest: true,
        snapshot: sampleSnapshot('second', { pad: 'q'.repeat(5000) }),
      }),
    ).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 400 })
    expect((await client.loadSnapshot({ location }))!.appData.tag).toBe('first')
  })
})

describe('createSnapshotHandler cross-site requests', () => {
  it('changes nothing on a request a foreign page can send without a preflight (any simple request)', async () => {
    const storage = new MemoryStorage()
    const key = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'
    await storage.backend.put(key, new Uint8Array([1]))
    // Cookie authorization, as a same-origin app would have it: the browser attaches the cookie
    // to a cross-site form post or no-cors fetch too (SameSite=None, or a same-site subdomain).
    const handle = createSnapshotHandler({ storage, authorize: (r) => (r.headers.get('cookie') ?? '').includes('session=alice') })
    const body = JSON.stringify({ keys: [key] })
    // What a <form> or a no-cors fetch can send: GET/HEAD/POST with a CORS-safelisted content type, or none.
    const types = [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain; application/json',
      undefined,
    ]
    for (const path of ['delete', `objects/${key}`, 'list']) {
      for (const type of types) {
        const headers: Record<string, string> = { cookie: 'session=alice', origin: 'https://evil.example' }
        if (type) headers['content-type'] = type
        const res = await handle(new Request(`https://h.test/${path}`, { method: 'POST', headers, body: new Blob([body]) }))
        expect(res.status, `POST ${path} ${type}`).toBeGreaterThanOrEqual(400)
        expect(res.status, `POST ${path} ${type}`).toBeLessThan(500)
      }
    }
    expect((await storage.backend.get(key))!.body).toEqual(new Uint8Array([1]))
    // The app's own JSON request (a preflighted content type cross-origin) still deletes.
    for (const type of ['application/json', 'Application/JSON; charset=utf-8']) {
      await storage.backend.put(key, new Uint8Array([1]))
      const res = await handle(
        new Request('https://h.test/delete', { method: 'POST', headers: { cookie: 'session=alice', 'content-type': type }, body }),
      )
      expect(res.status, type).toBe(204)
      expect(await storage.backend.get(key), type).toBe(null)
    }
  })
})

describe('createSnapshotHandler options', () => {
  const storage = new MemoryStorage()
  const authorize = (): boolean => true
  const invalid = (options: Record<string, unknown>, field: string): void => {
    const attempt = (): unknown => createSnapshotHandler({ storage, authorize, ...options } as never)
    expect(attempt, JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION', field }))
  }

  it('refuses, at construction, options that would disable a limit or break every request', () => {
    for (const maxBodyBytes of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY, '1000', null]) invalid({ maxBodyBytes }, 'maxBodyBytes')
    for (const basePath of [42, 'api', '/api?x', '/a b', '/api#x']) invalid({ basePath }, 'basePath')
    for (const cors of [
      null,
      'https://app.example',
      {},
      { origins: 'https://app.example' },
      { origins: [42] },
      { origins: ['https://a.example\r\nx: y'] },
    ])
      invalid({ cors }, 'cors.origins')
    for (const allowHeaders of ['x-a', ['x-a\r\nSet-Cookie: a=b'], ['x a'], [''], [42]])
      invalid({ cors: { origins: '*', allowHeaders } }, 'cors.allowHeaders')
    for (const maxAgeSeconds of [Number.NaN, -1, 1.5, '600']) invalid({ cors: { origins: '*', maxAgeSeconds } }, 'cors.maxAgeSeconds')
    invalid({ onError: 'console.error' }, 'onError')
    // What is valid stays valid.
    createSnapshotHandler({
      storage,
      authorize,
      basePath: '/api/v1/',
      maxBodyBytes: 1,
      cors: { origins: ['https://app.example'], allowHeaders: ['X-Trace-Id'], maxAgeSeconds: 0 },
      onError: () => {},
    })
    createSnapshotHandler({ storage, authorize, basePath: '', cors: { origins: '*' } })
  })

  it('lets authorize read the upload (e.g. to check a signature) without breaking the PUT', async () => {
    const key = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'
    const server = new MemoryStorage()
    const seen: number[] = []
    const handle = createSnapshotHandler({
      storage: server,
      authorize: async (request) => {
        if (request.body) seen.push((await request.arrayBuffer()).byteLength)
        return true
      },
    })
    const body = new Uint8Array(100_000).fill(3)
    const res = await handle(new Request(`https://h.test/objects/${key}`, { method: 'PUT', body }))
    expect(res.status).toBe(204)
    expect(seen).toEqual([100_000])
    expect((await server.backend.get(key))!.body).toEqual(body)
    // A batch delete names its keys in the body: authorize reads them too.
    const keys = JSON.stringify({ keys: [key] })
    const batch = await handle(
      new Request('https://h.test/delete', { method: 'POST', headers: { 'content-type': 'application/json' }, body: keys }),
    )
    expect(batch.status).toBe(204)
    expect(seen).toEqual([100_000, keys.length])
    // And one that ignores it still stores the whole body.
    const quiet = createSnapshotHandler({ storage: server, authorize: () => true })
    expect((await quiet(new Request(`https://h.test/objects/${key}`, { method: 'PUT', body: body.fill(4) }))).status).toBe(204)
    expect((await server.backend.get(key))!.body).toEqual(body)
  })
})

describe('createSnapshotHandler failures of its own storage', () => {
  it("answers a ValidationError from the server's backend as a 502 without its message, not as the client's 400", async () => {
    const storage = new MemoryStorage({ prefix: 'root' })
    const misconfigured = new ValidationError('bucket', 'must be an R2 bucket binding (env.SNAPSHOTS_PROD)')
    for (const method of ['get', 'head', 'put', 'delete', 'list'] as const) {
      Object.assign(storage.backend, { [method]: () => Promise.reject(misconfigured) })
    }
    const logged: unknown[] = []
    const handle = createSnapshotHandler({ storage, authorize: () => true, onError: (error) => logged.push(error) })
    const key = 'alice/scopes/agent/main/snapshots/snapshot_latest.json'
    const json = { 'content-type': 'application/json' }
    const requests: [string, RequestInit][] = [
      [`objects/${key}`, {}],
      [`objects/${key}`, { method: 'HEAD' }],
      [`objects/${key}`, { method: 'PUT', body: new Uint8Array([1]) }],
      [`objects/${key}`, { method: 'DELETE' }],
      ['list?prefix=alice/', {}],
      ['delete', { method: 'POST', headers: json, body: JSON.stringify({ keys: [key] }) }],
    ]
    for (const [path, init] of requests) {
      const res = await handle(new Request(`https://h.test/${path}`, init))
      expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(502)
      expect(await res.text()).not.toMatch(/SNAPSHOTS_PROD|bucket/)
    }
    expect(logged).toEqual(requests.map(() => misconfigured))
    // The request's own validation is still the client's 400, with its message.
    const bad = await handle(new Request('https://h.test/list?prefix=al/../ice/'))
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: expect.stringMatching(/^prefix /) })
    expect((await handle(new Request('https://h.test/objects/alice/x'))).status).toBe(400)
  })
})
