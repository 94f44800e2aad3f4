import net from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { newSnapshotId, SnapshelfError } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { countingFetch, describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

const SECRET = 'wrong-secret-ZX81-do-not-leak'
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'sk-example-secret' }
const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }

/** Everything an error exposes: message, stack, JSON form, and the same for every cause. */
function everythingIn(error: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e)
    parts.push(String(e))
    if (e instanceof Error) parts.push(e.message, e.stack ?? '')
    try {
      parts.push(JSON.stringify(e))
    } catch {
      parts.push('[unserialisable]')
    }
    if (typeof e === 'object')
      for (const k of Object.keys(e))
        parts.push(
          k,
          safe(() => JSON.stringify((e as Record<string, unknown>)[k])),
        )
  }
  return parts.join('\n')
}
const safe = (f: () => string | undefined) => {
  try {
    return f() ?? ''
  } catch {
    return ''
  }
}

describe('S3 configuration is checked at construction (no I/O)', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['bucket', { bucket: 'ab' }],
    ['bucket', { bucket: 'Upper' }],
    ['bucket', { bucket: 'under_score' }],
    ['bucket', { bucket: '-lead' }],
    ['bucket', { bucket: 'a..b' }],
    ['bucket', { bucket: '192.168.1.1' }],
    ['bucket', { bucket: 'x'.repeat(64) }],
    ['bucket', { bucket: undefined }],
    ['endpoint', { endpoint: 'not a url' }],
    ['endpoint', { endpoint: 'ftp://127.0.0.1' }],
    ['endpoint', { endpoint: `http://user:${SECRET}@127.0.0.1:7480` }],
    ['endpoint', { endpoint: 'http://127.0.0.1:7480/?x=1' }],
    ['accessKeyId', { accessKeyId: '' }],
    ['accessKeyId', { accessKeyId: 42 }],
    ['secretAccessKey', { secretAccessKey: '' }],
    ['secretAccessKey', { secretAccessKey: ` ${SECRET} ` }],
    ['secretAccessKey', { secretAccessKey: undefined }],
    ['sessionToken', { sessionToken: '' }],
    ['region', { region: 'us east' }],
    ['retries', { retries: -1 }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['fetch', { fetch: 'fetch' }],
    ['prefix', { prefix: '../up' }],
    ['compression', { compression: 'brotli' }],
  ]
  it.each(bad)('%s: %j → ERR_VALIDATION naming the field, never echoing a secret', (field, override) => {
    const fetchSpy = countingFetch()
    let error: unknown
    try {
      new S3Storage({ bucket: 'good-bucket', endpoint: 'http://127.0.0.1:7480', ...creds, fetch: fetchSpy.fetch, ...override } as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SnapshelfError)
    expect(error).toMatchObject({ code: 'ERR_VALIDATION' })
    expect((error as Error).message).toContain(field)
    expect(everythingIn(error)).not.toContain(SECRET)
    expect(fetchSpy.seen).toEqual([])
  })
  it('rejects a missing options object', () => {
    expect(() => new S3Storage(undefined as never)).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }))
  })

  it('addresses AWS virtual-hosted by default, path style on request, with a dotted bucket, and elsewhere', () => {
    const url = (o: Record<string, unknown>) => new S3Backend({ bucket: 'my-bucket', ...creds, ...o } as never)
    expect(url({}).bucketUrl).toBe('https://my-bucket.s3.us-east-1.amazonaws.com/')
    expect(url({ region: 'eu-west-1' }).bucketUrl).toBe('https://my-bucket.s3.eu-west-1.amazonaws.com/')
    expect(url({ region: 'eu-west-1', forcePathStyle: true }).bucketUrl).toBe('https://s3.eu-west-1.amazonaws.com/my-bucket/')
    expect(url({ endpoint: 'https://s3.ap-south-1.amazonaws.com' })).toMatchObject({
      region: 'ap-south-1',
      bucketUrl: 'https://my-bucket.s3.ap-south-1.amazonaws.com/',
    })
    expect(new S3Backend({ bucket: 'dotted.bucket', region: 'eu-west-1', ...creds }).bucketUrl).toBe(
      'https://s3.eu-west-1.amazonaws.com/dotted.bucket/',
    )
    expect(url({ endpoint: 'https://0123abcd.r2.cloudflarestorage.com' })).toMatchObject({
      region: 'auto',
      bucketUrl: 'https://0123abcd.r2.cloudflarestorage.com/my-bucket/',
    })
    expect(url({ endpoint: 'https://0123abcd.eu.r2.cloudflarestorage.com' }).region).toBe('auto')
    expect(url({ endpoint: 'http://127.0.0.1:9000/' })).toMatchObject({
      region: 'us-east-1',
      bucketUrl: 'http://127.0.0.1:9000/my-bucket/',
    })
    expect(url({ endpoint: 'https://gw.example.com/s3/', region: 'default' })).toMatchObject({
      region: 'default',
      bucketUrl: 'https://gw.example.com/s3/my-bucket/',
    })
  })
})

describeS3('S3 failures are typed, bounded and leak no secret (real S3)', () => {
  const prefix = uniquePrefix('errors')
  afterAll(() => wipePrefix(prefix))

  it('a wrong secret is ERR_AUTH with status, S3 code and request id; no secret or signature anywhere', async () => {
    const spy = countingFetch()
    const store = new S3Storage(s3Options({ prefix, secretAccessKey: SECRET, fetch: spy.fetch }))
    const errors: unknown[] = []
    for (const op of [
      () => store.loadSnapshot({ location }),
      () => store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('x') }),
      () => store.listSnapshotIds({ location }),
      () => store.deleteSession({ sessionId: 's1' }),
      () => store.backend.delete([`${prefix}/s1/x`]),
    ]) {
      errors.push(
        await op().then(
          () => 'no error',
          (e: unknown) => e,
        ),
      )
    }
    const signatures = spy.seen
      .map((r) => /Signature=([0-9a-f]{64})/.exec(r.headers.get('authorization') ?? '')?.[1])
      .filter(Boolean) as string[]
    expect(signatures.length).toBeGreaterThanOrEqual(errors.length)
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'ERR_AUTH', status: 403, serverCode: 'SignatureDoesNotMatch', requestId: expect.any(String) })
      const all = everythingIn(error)
      expect(all).not.toContain(SECRET)
      for (const s of signatures) expect(all).not.toContain(s)
    }
  })

  it('an unknown access key is ERR_AUTH too', async () => {
    const store = new S3Storage(s3Options({ prefix, accessKeyId: 'NO-SUCH-KEY' }))
    await expect(store.loadSnapshot({ location })).rejects.toMatchObject({
      code: 'ERR_AUTH',
      status: 403,
      serverCode: 'InvalidAccessKeyId',
    })
  })

  it('a missing bucket is a typed error naming it, on read, write and list', async () => {
    const bucket = `snapshelf-missing-${Date.now().toString(36)}`
    const store = new S3Storage(s3Options({ prefix, bucket }))
    for (const op of [
      () => store.loadSnapshot({ location }),
      () => store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('x') }),
      () => store.listSnapshotIds({ location }),
      () => store.updateLatest({ location, mutate: () => sampleSnapshot('y') }),
      () => store.deleteSession({ sessionId: 's1' }),
    ]) {
      const error = await op().then(
        () => 'no error',
        (e: unknown) => e,
      )
      expect(error).toMatchObject({ code: 'ERR_REMOTE', status: 404, serverCode: 'NoSuchBucket' })
      expect((error as Error).message).toContain(bucket)
    }
  })

  it('a server that is down: every attempt made, then ERR_REMOTE (never a hang), no secret in it', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const spy = countingFetch()
    const store = new S3Storage(
      s3Options({ endpoint: `http://127.0.0.1:${port}`, secretAccessKey: SECRET, retries: 3, timeoutMs: 2000, fetch: spy.fetch }),
    )
    const error = await store.loadSnapshot({ location }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_REMOTE' })
    expect((error as Error).message).toMatch(/network error after 4 attempts/)
    expect(spy.seen.length).toBe(4)
    expect(everythingIn(error)).not.toContain(SECRET)
  })

  it('a server that accepts but never answers: ERR_TIMEOUT after the retries, no secret in it', async () => {
    const proxy = await startFaultProxy({ target: s3Server!.endpoint, rate: 1, faults: ['stall'] })
    try {
      const spy = countingFetch()
      const store = new S3Storage(s3Options({ endpoint: proxy.url, secretAccessKey: SECRET, retries: 1, timeoutMs: 300, fetch: spy.fetch }))
      const error = await store
        .saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot: sampleSnapshot('x') })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_TIMEOUT' })
      expect(spy.seen.length).toBe(2)
      expect(everythingIn(error)).not.toContain(SECRET)
    } finally {
      await proxy.close()
    }
  })

  it('an already-aborted signal is ERR_ABORTED before any request', async () => {
    const spy = countingFetch()
    const store = new S3Storage(s3Options({ prefix, fetch: spy.fetch }))
    const ctrl = new AbortController()
    ctrl.abort()
    await expect(store.loadSnapshot({ location, signal: ctrl.signal } as never)).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(spy.seen).toEqual([])
  })

  it('a per-key DeleteObjects failure is thrown, never a silent partial delete', async () => {
    // Ceph answers every key it can parse; a server-side per-key <Error> is simulated by a proxy
    // that rewrites the answer of the real DeleteObjects call.
    const http = await import('node:http')
    const upstream = new URL(s3Server!.endpoint)
    const server = http.createServer((req, res) => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const chunks: Buffer[] = []
          up.on('data', (c: Buffer) => chunks.push(c))
          up.on('end', () => {
            let body = Buffer.concat(chunks).toString()
            if (req.method === 'POST' && up.statusCode === 200) {
              body = body.replace(
                '</DeleteResult>',
                `<Error><Key>${prefix}/s1/a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`,
              )
            }
            const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(body)) }
            delete headers['transfer-encoding']
            res.writeHead(up.statusCode!, headers).end(body)
          })
        },
      )
      req.pipe(out)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const backend = new S3Backend(s3Options({ endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` }))
      const error = await backend.delete([`${prefix}/s1/a&b`, `${prefix}/s1/c`]).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'ERR_REMOTE', serverCode: 'AccessDenied', key: `${prefix}/s1/a&b` })
      expect((error as Error).message).toContain(`${prefix}/s1/a&b (AccessDenied)`)
    } finally {
      server.close()
    }
  })
})
