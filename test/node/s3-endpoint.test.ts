import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { SnapshelfError, ValidationError } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { countingFetch } from '../helpers/s3.js'

// Issue 17 item 12: a bucket pasted into the endpoint used to be accepted and put every key one
// folder down (`<bucket>/<bucket>/…`), invisible to a correct configuration of the same bucket;
// and a connection refused did not say where it tried to connect.
const SECRET = 'sk-endpoint-test-ZX81-do-not-leak'
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET }
const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }

function constructionError(endpoint: string, bucket = 'agent-sessions'): unknown {
  const spy = countingFetch()
  try {
    new S3Storage({ bucket, endpoint, ...creds, fetch: spy.fetch })
  } catch (error) {
    expect(spy.seen).toEqual([])
    return error
  }
  return undefined
}

describe('S3 endpoint with the bucket in it is refused at construction', () => {
  it.each([
    'http://127.0.0.1:7480/agent-sessions',
    'http://127.0.0.1:7480/agent-sessions/',
    'http://127.0.0.1:9000/agent-sessions/tenant-a',
    'https://gw.example.com/s3/agent-sessions',
    'https://agent-sessions.s3.eu-west-1.amazonaws.com',
    'https://agent-sessions.s3.amazonaws.com/',
    'https://agent-sessions.0123abcd.r2.cloudflarestorage.com',
  ])('%s → ValidationError on endpoint, saying where the bucket goes', (endpoint) => {
    const error = constructionError(endpoint)
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ code: 'ERR_VALIDATION', field: 'endpoint' })
    expect((error as Error).message).toMatch(/^endpoint must be the service URL without the bucket/)
    expect((error as Error).message).toContain('`bucket`')
    expect((error as Error).message).not.toContain(SECRET)
  })

  it('the same check guards S3Backend used on its own', () => {
    expect(() => new S3Backend({ bucket: 'agent-sessions', endpoint: 'http://127.0.0.1:7480/agent-sessions', ...creds })).toThrow(
      ValidationError,
    )
  })

  it('still accepts a gateway path, a bucket-like host outside AWS and R2, and a segment that only starts like the bucket', () => {
    const url = (endpoint: string) => new S3Backend({ bucket: 'agent-sessions', endpoint, ...creds }).bucketUrl
    expect(url('https://gw.example.com/s3/')).toBe('https://gw.example.com/s3/agent-sessions/')
    expect(url('https://agent-sessions.example.com')).toBe('https://agent-sessions.example.com/agent-sessions/')
    expect(url('http://127.0.0.1:7480/agent-sessions-gw')).toBe('http://127.0.0.1:7480/agent-sessions-gw/agent-sessions/')
    expect(url('https://s3.eu-west-1.amazonaws.com')).toBe('https://agent-sessions.s3.eu-west-1.amazonaws.com/')
  })
})

describe('a connection refused names the endpoint', () => {
  it('ERR_REMOTE naming the operation, and the endpoint; no credential', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const store = new S3Storage({ bucket: 'agent-sessions', endpoint: `http://127.0.0.1:${port}/`, ...creds, retries: 1, timeoutMs: 2000 })
    const error = await store.loadSnapshot({ location }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SnapshelfError)
    expect(error).toMatchObject({ code: 'ERR_REMOTE' })
    const message = (error as Error).message
    expect(message).toContain(`at http://127.0.0.1:${port}:`)
    expect(message).toMatch(/network error after 2 attempts$/)
    expect(message).not.toContain(SECRET)
    expect(message).not.toContain(creds.accessKeyId)
  })
})
