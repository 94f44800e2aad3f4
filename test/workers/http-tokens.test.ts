import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { newSnapshotId, type Snapshot } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'
import { sampleSnapshot } from 'snapshelf/testing'

// Write tokens end to end (HttpStorage → createSnapshotHandler → R2Storage, inside workerd): a
// conditional PUT whose answer is lost after the server applied it is retried, fails its
// precondition, and the client must tell "my write landed" (its token is on the object or in the
// chain of the write that replaced it) from "a rival's did", or say the outcome is unknown.
const bucket = (env as unknown as { SNAPSHOTS: R2BucketLike }).SNAPSHOTS
const PREFIX = 'http-tokens'
const handle = createSnapshotHandler({
  storage: new R2Storage({ bucket, prefix: PREFIX }),
  basePath: '/api',
  authorize: () => true,
  cors: { origins: ['https://app.example'] },
})
type Send = (input: string, init: RequestInit) => Promise<Response>
const server: Send = (input, init) => handle(new Request(input, init))
/** A client with its own token memory (each HttpStorage has its own `seen` map). */
type Counted = Omit<Snapshot, 'data'> & { data: { n: number; by: string[] } }
const client = (send: Send = server): HttpStorage<Counted> =>
  new HttpStorage<Counted>({ baseUrl: 'https://h.test/api', compression: 'none', fetch: send, retries: 3 })
/** A snapshot whose data is a counter and the names of who incremented it. */
const counter = (n: number, by: string[]): Counted => ({ ...sampleSnapshot('n'), data: { n, by } })
/** A mutation that adds one and records who applied it, counting its calls. */
function writer(name: string) {
  const mutate = (cur: Counted | null): Counted => {
    mutate.calls++
    return { ...cur!, data: { n: cur!.data.n + 1, by: [...cur!.data.by, name] } }
  }
  mutate.calls = 0
  return mutate
}

/**
 * A fetch whose first PUT is applied by the handler but whose answer never arrives: it throws a
 * TypeError (a reset connection) after the handler answered, after running `meanwhile` (a rival).
 */
function losingFirstPutAnswer(meanwhile: () => Promise<unknown> = async () => {}) {
  const state = { lost: 0, puts: 0 }
  const send: Send = async (input, init) => {
    const res = await server(input, init)
    if (init.method === 'PUT' && state.puts++ === 0) {
      expect(res.status, 'the first attempt landed').toBe(204)
      state.lost++
      await meanwhile()
      throw new TypeError('network connection lost')
    }
    return res
  }
  return { send, state }
}

async function seeded() {
  const location = { sessionId: `tok-${newSnapshotId().slice(-12)}`, scope: 'agent', scopeId: 'main' }
  // An unconditional save: the object starts without write tokens.
  await client().commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: counter(1, []) })
  const stored = () => client().loadSnapshot({ location })
  const latestKey = `${PREFIX}/${location.sessionId}/scopes/agent/main/snapshots/snapshot_latest.json`
  return { location, stored, latestKey }
}

describe('HttpStorage write tokens over the handler and R2', () => {
  it('a conditional PUT whose answer was lost after it landed is recognised as ours: mutate runs once', async () => {
    const { location, stored, latestKey } = await seeded()
    const { send, state } = losingFirstPutAnswer()
    const ours = writer('ours')
    const result = await client(send).updateLatest({ location, mutate: ours })
    expect(state.lost).toBe(1)
    expect(state.puts, 'the PUT was retried (and failed its precondition)').toBe(2)
    expect(result.committed).toBe(true)
    expect(ours.calls).toBe(1)
    expect((await stored())!.data).toEqual({ n: 2, by: ['ours'] })
    // The token travelled to R2 as custom metadata: one token (the seed carried none to chain).
    const meta = (await bucket.head(latestKey)) as { customMetadata?: Record<string, string> } | null
    expect(meta?.customMetadata?.tokens).toMatch(/^[\w-]{12}$/)
  })

  it('recognises its landed write through the chain of a rival that updated on top before the retry', async () => {
    const { location, stored, latestKey } = await seeded()
    const rival = writer('rival')
    const { send, state } = losingFirstPutAnswer(() => client().updateLatest({ location, mutate: rival }))
    const ours = writer('ours')
    const result = await client(send).updateLatest({ location, mutate: ours })
    expect(state.lost).toBe(1)
    expect(result.committed).toBe(true)
    expect([ours.calls, rival.calls]).toEqual([1, 1])
    // Each writer applied exactly once, in the order they landed.
    expect((await stored())!.data).toEqual({ n: 3, by: ['ours', 'rival'] })
    const meta = (await bucket.head(latestKey)) as { customMetadata?: Record<string, string> } | null
    expect(meta?.customMetadata?.tokens?.split(',')).toHaveLength(2)
  })

  it('a rival writing without tokens makes the retried outcome unknown (RemoteError 412), never a second mutate', async () => {
    const { location, stored } = await seeded()
    const { send, state } = losingFirstPutAnswer(() =>
      client().commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: counter(10, ['rival']) }),
    )
    const ours = writer('ours')
    const error = await client(send)
      .updateLatest({ location, mutate: ours })
      .then(
        () => null,
        (e: unknown) => e,
      )
    expect(state.lost).toBe(1)
    expect(error).toMatchObject({ code: 'ERR_REMOTE', status: 412 })
    expect(String((error as Error).message)).toMatch(/outcome unknown/)
    expect(ours.calls).toBe(1)
    expect((await stored())!.data).toEqual({ n: 10, by: ['rival'] })
  })

  it('a lost-race retry whose rival chain does not hold our token is a plain lost race: re-read, mutate again', async () => {
    const { location, stored } = await seeded()
    const rival = writer('rival')
    let puts = 0
    // Our first PUT never reaches the server; a token-carrying rival updates meanwhile.
    const send: Send = async (input, init) => {
      if (init.method === 'PUT' && puts++ === 0) {
        await client().updateLatest({ location, mutate: rival })
        throw new TypeError('network connection lost')
      }
      return server(input, init)
    }
    const ours = writer('ours')
    const result = await client(send).updateLatest({ location, mutate: ours })
    expect(result.committed).toBe(true)
    // Our first mutate never landed: it ran again on the rival's value, and both count.
    expect([ours.calls, rival.calls]).toEqual([2, 1])
    expect((await stored())!.data).toEqual({ n: 3, by: ['rival', 'ours'] })
  })

  it('the handler validates Snapshelf-Tokens strictly and returns stored tokens on GET / HEAD', async () => {
    const key = `tok-${newSnapshotId().slice(-12)}/scopes/agent/main/snapshots/snapshot_latest.json`
    const url = `https://h.test/api/objects/${key}`
    const put = (tokens: string) =>
      handle(new Request(url, { method: 'PUT', body: new Uint8Array([1]), headers: { 'snapshelf-tokens': tokens } }))
    const word = (i: number) => `t${String(i).padStart(23, '0')}`
    const tooMany = Array.from({ length: 50 }, (_, i) => word(i)).join()
    for (const bad of ['', ',', 'a,', ',a', 'a,,b', 'a b', 'a;b', 'a.b', 'a+b', 'x'.repeat(25), tooMany]) {
      const res = await put(bad)
      expect(res.status, JSON.stringify(bad)).toBe(400)
      expect(await res.json()).toMatchObject({ error: expect.stringMatching(/Snapshelf-Tokens/) })
    }
    expect(await bucket.head(`${PREFIX}/${key}`), 'a refused PUT wrote nothing').toBe(null)
    const full = Array.from({ length: 49 }, (_, i) => word(i)).join()
    expect((await put(full)).status).toBe(204)
    for (const method of ['GET', 'HEAD']) {
      const res = await handle(new Request(url, { method, headers: { origin: 'https://app.example' } }))
      expect(res.headers.get('snapshelf-tokens'), method).toBe(full)
      expect(res.headers.get('access-control-expose-headers')).toMatch(/Snapshelf-Tokens/)
    }
    // An unconditional PUT without tokens replaces the metadata with the bytes: nothing stale remains.
    expect((await handle(new Request(url, { method: 'PUT', body: new Uint8Array([2]) }))).status).toBe(204)
    expect((await handle(new Request(url))).headers.get('snapshelf-tokens')).toBe(null)
    const preflight = await handle(
      new Request(url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } }),
    )
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Snapshelf-Tokens/i)
  })
})
