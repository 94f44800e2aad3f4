import { describe, expect, it } from 'vitest'
import { MemoryStorage, RemoteError, newSnapshotId } from 'snapshelf'
import { HttpBackend, HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { sampleSnapshot } from 'snapshelf/testing'

// HttpStorage's handling of a conditional PUT whose answer was lost and whose retry then fails
// its precondition, over a server storage that keeps no write tokens (memory: only R2 stores
// them, see test/workers/http-tokens.test.ts). Without tokens the client cannot tell "my first
// attempt landed" from "a rival wrote", so it must not claim either silently: both the
// lost-update and the double-apply counter-examples below must end in a committed count that is
// right, or in an error the caller sees.
const handle = createSnapshotHandler({ storage: new MemoryStorage({ compression: 'none' }), authorize: () => true })
type Send = (input: string, init: RequestInit) => Promise<Response>
const server: Send = (input, init) => handle(new Request(input, init))
const client = (send: Send = server): HttpStorage =>
  new HttpStorage({ baseUrl: 'http://h.test', compression: 'none', fetch: send, retries: 3 })
const increment = (cur: ReturnType<typeof sampleSnapshot> | null): ReturnType<typeof sampleSnapshot> => ({
  ...cur!,
  data: { ...cur!.data, n: (cur!.data.n as number) + 1 },
})

/** Runs `updateLatest(increment)` on `ours`; returns the final count and whether ours said committed. */
async function race(ours: HttpStorage, location: { sessionId: string; scope: string; scopeId: string }) {
  const outcome = await ours.updateLatest({ location, mutate: increment }).then(
    (r) => r.committed,
    (e: unknown) => e,
  )
  const n = (await client().loadSnapshot({ location }))!.data.n as number
  return { outcome, n }
}

describe('HttpStorage conditional writes with lost answers (server keeps no write tokens)', () => {
  it("never counts a rival's identical bytes (same base, same mutation) as its own write", async () => {
    const location = { sessionId: `s-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
    await client().commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('n', { n: 1 }) })
    let dropped = false
    // Our first PUT never reaches the server; meanwhile a rival applies the same increment.
    const flaky: Send = async (input, init) => {
      if (init.method === 'PUT' && !dropped) {
        dropped = true
        await client().updateLatest({ location, mutate: increment })
        throw new TypeError('network connection lost')
      }
      return server(input, init)
    }
    const { outcome, n } = await race(client(flaky), location)
    expect(dropped).toBe(true)
    // Two increments from 1: either both count (3), or ours reports that it did not commit. The
    // object carries no tokens to tell by, so it is the latter: the outcome is unknown, said as such.
    expect(outcome).toMatchObject({ code: 'ERR_REMOTE', status: 412, message: expect.stringMatching(/outcome unknown/) })
    expect(n).toBe(2)
  })

  it('never applies mutate twice when its first attempt landed and a rival moved on before the retry', async () => {
    const location = { sessionId: `s-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
    await client().commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('n', { n: 1 }) })
    let dropped = false
    // Our first PUT lands but its answer is lost; a rival increments before we retry.
    const flaky: Send = async (input, init) => {
      const res = await server(input, init)
      if (init.method === 'PUT' && !dropped) {
        dropped = true
        await client().updateLatest({ location, mutate: increment })
        throw new TypeError('connection reset')
      }
      return res
    }
    const { outcome, n } = await race(client(flaky), location)
    expect(dropped).toBe(true)
    // Ours landed (2), the rival's too (3): a third increment would be ours applied twice.
    expect(n).toBe(3)
    expect(outcome === true || (outcome as { code?: string }).code === 'ERR_REMOTE').toBe(true)
    expect(outcome).toMatchObject({ status: 412, message: expect.stringMatching(/outcome unknown/) })
  })

  it('sends a fresh write token on conditional PUTs only, chaining the tokens it read', async () => {
    const location = { sessionId: `s-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
    const sent: (string | null)[] = []
    const chained = 'prevToken_1,prevToken_0'
    // A server that keeps tokens would answer reads with them; here the answer is rewritten to say so.
    const spy: Send = async (input, init) => {
      if (init.method === 'PUT') sent.push(new Headers(init.headers).get('snapshelf-tokens'))
      const res = await server(input, init)
      if (init.method !== 'GET' || !res.ok) return res
      const headers = new Headers(res.headers)
      headers.set('snapshelf-tokens', chained)
      return new Response(res.body, { status: res.status, headers })
    }
    const store = client(spy)
    await store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('n', { n: 1 }) })
    await store.updateLatest({ location, mutate: increment })
    // History create (conditional), latest (unconditional), then the compare-and-swap.
    expect(sent).toHaveLength(3)
    expect(sent[0]).toMatch(/^[\w-]{12}$/)
    expect(sent[1]).toBe(null)
    expect(sent[2]).toMatch(new RegExp(`^[\\w-]{12},${chained}$`))
    expect(sent[2]!.split(',')[0]).not.toBe(sent[0]!)
  })

  it('a retried history create that finds its own bytes is still a success', async () => {
    const location = { sessionId: `s-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
    let dropped = false
    const flaky: Send = async (input, init) => {
      const res = await server(input, init)
      if (init.method === 'PUT' && !dropped) {
        dropped = true
        throw new TypeError('connection reset')
      }
      return res
    }
    const snapshotId = newSnapshotId()
    await client(flaky).saveSnapshot({ location, snapshotId, isLatest: false, snapshot: sampleSnapshot('h') })
    expect(dropped).toBe(true)
    expect(await client().listSnapshotIds({ location })).toEqual([snapshotId])
  })
})

describe('HttpStorage response bodies', () => {
  const location = { sessionId: 's-body', scope: 'agent', scopeId: 'main' }
  /**
   * A server whose GET answers 200 with an ETag, then a body produced by `pull`. Like a real
   * fetch, aborting the request's signal errors a body still being read.
   */
  const bodyServer =
    (pull: (c: ReadableStreamDefaultController<Uint8Array>) => void | Promise<void>): Send =>
    async (_input, init) => {
      const stream = new ReadableStream<Uint8Array>({
        start: (c) => init.signal?.addEventListener('abort', () => c.error(init.signal!.reason)),
        pull,
      })
      return new Response(stream, { status: 200, headers: { etag: '"e1"' } })
    }

  it('a body that stalls is covered by the timeout (and by the caller signal), not awaited forever', async () => {
    const stalled = bodyServer((c) => {
      c.enqueue(new Uint8Array([0x7b]))
      return new Promise(() => {})
    })
    const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: stalled, retries: 0, timeoutMs: 100 })
    await expect(store.loadSnapshot({ location })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    const patient = new HttpStorage({ baseUrl: 'http://h.test', fetch: stalled, retries: 0 })
    const ctrl = new AbortController()
    const pending = patient.loadSnapshot({ location, signal: ctrl.signal } as never)
    setTimeout(() => ctrl.abort(), 50)
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  }, 10_000)

  it('a body cut off mid-way is retried, then a typed RemoteError, never a bare TypeError', async () => {
    let attempts = 0
    const cut: Send = async (...args) => {
      attempts++
      return bodyServer((c) => c.error(new TypeError('terminated')))(...args)
    }
    const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: cut, retries: 2 })
    await expect(store.loadSnapshot({ location })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
    expect(attempts).toBe(3)
  })
})

describe('HttpBackend construction', () => {
  const key = 'local/s1/scopes/agent/main/snapshots/snapshot_latest.json'
  /** A fetch that records the URLs it was asked for and answers every read 404. */
  const recording = (): { urls: string[]; send: Send } => {
    const urls: string[] = []
    const send: Send = async (input) => {
      urls.push(input)
      return new Response(null, { status: 404 })
    }
    return { urls, send }
  }

  it('takes one options object, prefix included, and strips that prefix from every key it sends', async () => {
    const { urls, send } = recording()
    const backend = new HttpBackend({ baseUrl: 'http://h.test/api/', prefix: 'local', fetch: send })
    expect(await backend.get(key)).toBe(null)
    expect(urls).toEqual(['http://h.test/api/objects/s1/scopes/agent/main/snapshots/snapshot_latest.json'])
    await expect(backend.get('other/s1/scopes/agent/main/snapshots/snapshot_latest.json')).rejects.toMatchObject({ code: 'ERR_VALIDATION' })
  })

  it('still accepts the positional (prefix, options) form', async () => {
    const { urls, send } = recording()
    const backend = new HttpBackend('local', { baseUrl: 'http://h.test/api', fetch: send })
    expect(await backend.head(key)).toBe(null)
    expect(urls).toEqual(['http://h.test/api/objects/s1/scopes/agent/main/snapshots/snapshot_latest.json'])
  })

  it('refuses a missing baseUrl and a malformed prefix with ValidationError', () => {
    expect(() => new HttpBackend({} as never)).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION', field: 'baseUrl' }))
    expect(() => new HttpBackend(undefined as never)).toThrow(expect.objectContaining({ field: 'baseUrl' }))
    expect(() => new HttpBackend({ baseUrl: '/api', prefix: '../x' })).toThrow(expect.objectContaining({ field: 'prefix' }))
  })
})

describe("HttpStorage answers that are not the handler's", () => {
  const location = { sessionId: 's-portal', scope: 'agent', scopeId: 'main' }
  /** A server answering every request 200 with `body` (a captive portal, a proxy's page, a broken route). */
  const answering =
    (body: string | null, headers: Record<string, string> = {}): Send =>
    async () =>
      new Response(body, { status: 200, headers: { 'content-type': 'text/html', ...headers } })
  const listings = [
    '<html>Sign in to the Wi-Fi</html>',
    '{}',
    'null',
    '[]',
    '{"entries":"x","truncated":false}',
    '{"entries":[{}],"truncated":false}',
    '{"entries":[{"key":1,"size":1}],"truncated":false}',
    '{"entries":[{"key":"s-portal/scopes/agent/main/snapshots/immutable_history/x","size":-1}],"truncated":false}',
    '{"entries":[{"key":"other/scopes/agent/main/snapshots/immutable_history/x","size":1}],"truncated":false}',
    '{"entries":[],"truncated":"no"}',
    '',
  ]

  it('a listing that is not one is a RemoteError (never a bare SyntaxError or TypeError)', async () => {
    for (const body of listings) {
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: answering(body), retries: 0 })
      for (const call of [
        () => store.listSnapshots({ location }),
        () => store.listSnapshotIds({ location }),
        () => store.deleteSession({ sessionId: location.sessionId }),
        () => store.prune({ location, keepLast: 1 }),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error, body).toBeInstanceOf(RemoteError)
        expect(error, body).toMatchObject({ code: 'ERR_REMOTE', status: 200 })
      }
    }
  })

  it("an object read that is not the handler's answer (no or a wrong Snapshelf-Size) is a RemoteError", async () => {
    const page = '<html>Sign in to the Wi-Fi</html>'
    const answers: Record<string, string>[] = [
      { etag: '"e1"' },
      { etag: '"e1"', 'snapshelf-size': '5' },
      { etag: '"e1"', 'snapshelf-size': 'x' },
    ]
    for (const headers of answers) {
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: answering(page, headers), retries: 0 })
      await expect(store.loadSnapshot({ location }), JSON.stringify(headers)).rejects.toBeInstanceOf(RemoteError)
      await expect(store.loadManifest({ location }), JSON.stringify(headers)).rejects.toBeInstanceOf(RemoteError)
      await expect(store.updateLatest({ location, mutate: (s) => s }), JSON.stringify(headers)).rejects.toBeInstanceOf(RemoteError)
    }
    for (const size of [undefined, '', 'x', '-1', '1.5']) {
      const headers: Record<string, string> = { etag: '"e1"' }
      if (size !== undefined) headers['snapshelf-size'] = size
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: answering(null, headers), retries: 0 })
      await expect(store.hasSnapshot({ location }), String(size)).rejects.toBeInstanceOf(RemoteError)
    }
  })
})

describe('HttpStorage options', () => {
  const invalid = (options: Record<string, unknown>, field: string): void => {
    const attempt = (): unknown => new HttpStorage({ baseUrl: 'http://h.test', ...options } as never)
    expect(attempt, String(Object.values(options)[0])).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION', field }))
  }

  it('refuses, at construction, retries, timeoutMs, fetch and headers it could not use', () => {
    for (const retries of [-1, 1.5, Number.NaN, '3', Number.POSITIVE_INFINITY, null]) invalid({ retries }, 'retries')
    // setTimeout turns anything past 2^31 - 1 ms into an immediate timeout.
    for (const timeoutMs of [0, -1, Number.NaN, '100', 2 ** 31, null]) invalid({ timeoutMs }, 'timeoutMs')
    for (const fetch of ['fetch', {}, 42, null]) invalid({ fetch }, 'fetch')
    for (const headers of ['authorization: Bearer x', 42, [['authorization']], [['a', 'b', 'c']], { 'x n': 'v' }, null])
      invalid({ headers }, 'headers')
    // What is valid stays valid.
    new HttpStorage({ baseUrl: '/api', retries: 0, timeoutMs: 1, fetch: async () => new Response(), headers: [['x-a', '1']] })
    new HttpStorage({ baseUrl: '/api', headers: new Headers({ 'x-a': '1' }) })
    new HttpStorage({ baseUrl: '/api', headers: () => ({ 'x-a': '1' }) })
  })
})

describe('HttpStorage error messages', () => {
  const location = { sessionId: 's-echo', scope: 'agent', scopeId: 'main' }
  const TOKEN = 'tok_9f8e7d6c5b4a39281706'

  it('redacts credentials an error answer echoes (request headers, signatures, tokens) before they enter a message', async () => {
    const echoes: [number, string, string][] = [
      [401, '', JSON.stringify({ error: `bad authorization: Bearer ${TOKEN}` })],
      [403, '', JSON.stringify({ error: `token ${TOKEN} is not valid for s-echo` })],
      [400, '', JSON.stringify({ error: `header was ${TOKEN}` })],
      [502, `Bad Gateway (Authorization: Bearer ${TOKEN})`, '<html>upstream</html>'],
      [500, '', JSON.stringify({ error: 'X-Amz-Signature=4f2a9c0e1b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1 mismatch' })],
      [500, '', JSON.stringify({ error: 'cookie: session=8c1f3e5a7b9d0c2e4f6a; theme=dark' })],
      [
        500,
        '',
        JSON.stringify({
          error: 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U rejected',
        }),
      ],
    ]
    const secrets = [TOKEN, '4f2a9c0e1b7d3a5f6e8c9b0a1d2e3f4a', '8c1f3e5a7b9d0c2e4f6a', 'eyJhbGciOiJIUzI1NiJ9', 'dozjgNryP4J3jVmNHl0w5N']
    for (const [status, statusText, body] of echoes) {
      const echo: Send = async () => new Response(body, { status, statusText })
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: echo, headers: { authorization: `Bearer ${TOKEN}` }, retries: 0 })
      const error = (await store.loadSnapshot({ location }).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { status?: number }
      expect(error.status, body).toBe(status)
      expect(error.message, body).toContain(`${status}`)
      for (const secret of secrets) expect(error.message, body).not.toContain(secret)
    }
  })

  it("keeps the handler's own messages as they are", async () => {
    const refused: Send = async () => Response.json({ error: 'limit: 1..1000' }, { status: 400 })
    const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: refused, retries: 0 })
    await expect(store.listSnapshots({ location })).rejects.toMatchObject({ message: 'HTTP GET /list: 400 limit: 1..1000' })
  })
})
