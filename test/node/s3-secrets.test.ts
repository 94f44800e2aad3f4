import net from 'node:net'
import util from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { newSnapshotId, type Snapshot } from 'snapshelf'
import { S3Backend, S3Storage, type S3StorageOptions } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { startFaultProxy, type Fault, type FaultProxy } from '../helpers/fault-proxy.js'
import { startRecorder, type Recorder } from '../helpers/recorder.js'
import { countingFetch, describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// The secret-leak sweep: every way an S3 call can fail (the real Ceph refusing us, a proxy in
// front of it that echoes our request headers in its error bodies, redirects, network errors,
// timeouts, lost answers, bad header values, a listing that repeats, a retried write whose
// outcome is unknown) and every form of every error (message, stack, the whole cause chain, JSON,
// util.inspect). None may hold the secret key, the session token, a signature we sent, or
// `Signature=` at all.
const SECRET = 'sweep-secret-ZX81+/do-not-leak-0123456789'
const TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////sweep+session/token=ZX81'
const prefix = uniquePrefix('secrets')
const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }

/** Every form of an error: util.inspect, and String, stack, JSON and own fields along its cause chain. */
function everythingIn(error: unknown): string {
  const parts = [util.inspect(error, { depth: 10, showHidden: true })]
  const seen = new Set<unknown>()
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e)
    parts.push(String(e), (e as Error).stack ?? '', (e as Error).message ?? '')
    try {
      parts.push(JSON.stringify(e))
    } catch {
      parts.push('[unserialisable]')
    }
    if (typeof e === 'object') for (const value of Object.values(e)) parts.push(String(value))
  }
  return parts.join('\n')
}

describeS3('no S3 error, in any form, holds a secret, a token or a signature (real S3 and a fault proxy)', () => {
  let proxy: FaultProxy
  let elsewhere: Recorder
  const sent = countingFetch()
  /** Every error the sweep collected, with where it came from. */
  const errors: [string, unknown][] = []

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3Server!.endpoint })
    elsewhere = await startRecorder()
  })
  afterAll(async () => {
    await proxy?.close()
    await elsewhere?.close()
    await wipePrefix(prefix)
  })

  const store = (extra: Partial<S3StorageOptions> = {}) =>
    new S3Storage(s3Options({ prefix, fetch: sent.fetch, retries: 1, timeoutMs: 1500, ...extra }))
  /** Every operation of the store and its backend, each run to its end; rejections are collected. */
  async function sweep(label: string, s: S3Storage) {
    const key = `${prefix}/s1/scopes/agent/main/snapshots/snapshot_latest.json`
    const ops: [string, () => Promise<unknown>][] = [
      ['loadSnapshot', () => s.loadSnapshot({ location })],
      ['hasSnapshot', () => s.hasSnapshot({ location })],
      ['saveSnapshot', () => s.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('x') })],
      ['updateLatest', () => s.updateLatest({ location, maxAttempts: 2, mutate: () => sampleSnapshot('y') })],
      ['listSnapshots', () => s.listSnapshots({ location })],
      ['deleteSession', () => s.deleteSession({ sessionId: 's1' })],
      ['put ifMatch', () => s.backend.put(key, new Uint8Array([1]), { ifMatch: 'abc' })],
      ['put ifNoneMatch', () => s.backend.put(key, new Uint8Array([1]), { ifNoneMatch: '*' })],
      ['head', () => s.backend.head(key)],
      ['delete', () => s.backend.delete([key, `${key}.2`])],
    ]
    let failed = 0
    for (const [op, run] of ops) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      )
      if (error !== undefined) {
        errors.push([`${label}: ${op}`, error])
        failed++
      }
    }
    return failed
  }

  it('the real server refusing a wrong secret, and a session token it does not know', async () => {
    expect(await sweep('wrong secret', store({ secretAccessKey: SECRET }))).toBe(10)
    expect(await sweep('unknown session token', store({ secretAccessKey: SECRET, sessionToken: TOKEN }))).toBe(10)
  })

  it.each([400, 403, 404, 409, 412, 500, 503])('a proxy whose %i error bodies echo every request header', async (status) => {
    proxy.intercept = (req) => {
      const headers = Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n')
      return {
        status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': String(req.headers['x-amz-security-token']) },
        body: Buffer.from(
          `<Error><Code>Echo ${req.headers.authorization}</Code><Message>You sent:\n${headers}</Message><RequestId>${req.headers.authorization}</RequestId></Error>`,
        ),
      }
    }
    try {
      expect(await sweep(`echo ${status}`, store({ endpoint: proxy.url, secretAccessKey: SECRET, sessionToken: TOKEN }))).toBeGreaterThan(0)
    } finally {
      proxy.intercept = undefined
    }
  })

  it('redirects to another host', async () => {
    proxy.intercept = (req) => ({ status: 307, headers: { location: `${elsewhere.url}${req.url}` }, body: Buffer.alloc(0) })
    try {
      expect(await sweep('redirect', store({ endpoint: proxy.url, secretAccessKey: SECRET, sessionToken: TOKEN }))).toBe(10)
      expect(elsewhere.requests).toEqual([])
    } finally {
      proxy.intercept = undefined
    }
  })

  it.each(['reset', 'stall', '500', 'lost'] as Fault[])('network faults that outlast the retries: %s', async (fault) => {
    proxy.rate = 1
    proxy.faults = [fault]
    try {
      expect(
        await sweep(`fault ${fault}`, store({ endpoint: proxy.url, secretAccessKey: SECRET, sessionToken: TOKEN, timeoutMs: 300 })),
      ).toBe(10)
    } finally {
      proxy.rate = 0
    }
  })

  it('a server that is down', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    expect(await sweep('down', store({ endpoint: `http://127.0.0.1:${port}`, secretAccessKey: SECRET, sessionToken: TOKEN }))).toBe(10)
  })

  it('a fetch whose errors quote the request headers', async () => {
    const quoting: typeof fetch = async (_input, init) => {
      const h = new Headers(init?.headers)
      throw new TypeError(`refused: authorization=${h.get('authorization')} token=${h.get('x-amz-security-token')}`, {
        cause: new Error(`and ${SECRET}`),
      })
    }
    expect(
      await sweep(
        'quoting fetch',
        new S3Storage(s3Options({ prefix, fetch: quoting, retries: 1, secretAccessKey: SECRET, sessionToken: TOKEN })),
      ),
    ).toBe(10)
  })

  it('bad header values and credentials, refused before any I/O', async () => {
    for (const bad of [
      { accessKeyId: `AKID\n${SECRET}` },
      { secretAccessKey: `${SECRET}\n` },
      { sessionToken: `${TOKEN}\r\nx: y` },
      { sessionToken: `${TOKEN} ` },
    ]) {
      let error: unknown
      try {
        new S3Backend(s3Options({ secretAccessKey: SECRET, sessionToken: TOKEN, ...bad }))
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({ code: 'ERR_VALIDATION' })
      errors.push([`construction ${Object.keys(bad)[0]}`, error])
    }
    const backend = new S3Backend(s3Options({ secretAccessKey: SECRET, sessionToken: TOKEN, fetch: sent.fetch }))
    errors.push([
      'ifMatch with a newline',
      await backend.put(`${prefix}/k`, new Uint8Array([1]), { ifMatch: `a\n${TOKEN}` }).catch((e: unknown) => e),
    ])
  })

  it('a listing that repeats its page, and a retried write whose outcome is unknown', async () => {
    // Real credentials here: the errors come from our own checks, after real answers.
    let first: Buffer | undefined
    proxy.rewrite = (req, answer) => {
      if (req.method !== 'GET' || !/list-type=2/.test(req.url ?? '')) return answer
      first ??= Buffer.from(
        answer.body
          .toString()
          .replace(/<IsTruncated>\w+</, '<IsTruncated>true<')
          .replace('</ListBucketResult>', '<NextContinuationToken>t</NextContinuationToken></ListBucketResult>'),
      )
      return { ...answer, body: first }
    }
    try {
      const s = store({ endpoint: proxy.url, sessionToken: undefined })
      errors.push(['stalled listing', await s.backend.list(`${prefix}/`).catch((e: unknown) => e)])
    } finally {
      proxy.rewrite = undefined
    }
    const loc = { ...location, sessionId: `unknown-${Date.now().toString(36)}` }
    const direct = store()
    await direct.saveSnapshot({ location: loc, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('seed') })
    let puts = 0
    const interleave: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && new Headers(init.headers).has('if-match') && ++puts === 2) {
        await direct.saveSnapshot({ location: loc, snapshotId: 'latest', isLatest: true, snapshot: sampleSnapshot('rival') })
      }
      return fetch(input, init)
    }
    proxy.force('lost', 1, (req) => req.method === 'PUT' && req.headers['if-match'] !== undefined)
    const outcome = await store({ endpoint: proxy.url, fetch: interleave })
      .updateLatest({ location: loc, mutate: (cur: Snapshot | null) => ({ ...cur!, appData: { tag: 'ours' } }) })
      .catch((e: unknown) => e)
    expect(outcome).toMatchObject({ status: 412, message: expect.stringContaining('outcome unknown') })
    errors.push(['outcome unknown', outcome])
  })

  it('none of the errors collected holds the secret, the token, a signature we sent, or Signature=', () => {
    expect(errors.length).toBeGreaterThan(150)
    const signatures = new Set(
      sent.seen.map((r) => /Signature=([0-9a-f]{64})/.exec(r.headers.get('authorization') ?? '')?.[1]).filter((s): s is string => !!s),
    )
    expect(signatures.size).toBeGreaterThan(50)
    const leaks: string[] = []
    for (const [where, error] of errors) {
      expect(error, where).toBeInstanceOf(Error)
      const all = everythingIn(error)
      for (const secret of [SECRET, TOKEN, encodeURIComponent(TOKEN), 'Signature=', ...signatures]) {
        if (all.includes(secret)) leaks.push(`${where}: ${secret.slice(0, 12)}…`)
      }
    }
    expect(leaks).toEqual([])
  })
})
