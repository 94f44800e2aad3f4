import util from 'node:util'
import { describe, expect, it } from 'vitest'
import { SnapshelfError } from 'snapshelf'
import { S3Backend } from 'snapshelf/s3'
import { countingFetch } from '../helpers/s3.js'

// Every credential and header value is checked before any I/O: a value with an inner newline
// used to pass construction, and then the runtime's Headers error, kept as `cause`, quoted the
// session token or the whole Authorization header with its Signature=. And a runtime (or a
// custom fetch) whose error quotes the request's credentials must not have that error kept.
const SECRET = 'secret-ZX81-do-not-leak'
const TOKEN = 'session-token-ZX81-do-not-leak'
const good = {
  bucket: 'good-bucket',
  endpoint: 'http://127.0.0.1:1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: SECRET,
  sessionToken: TOKEN,
}

/** An error's every form: message, stack, JSON, util.inspect, along its whole cause chain. */
function everythingIn(error: unknown): string {
  const parts: string[] = [util.inspect(error, { depth: 10 })]
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(String(e), (e as Error).stack ?? '')
    try {
      parts.push(JSON.stringify(e))
    } catch {
      parts.push('[unserialisable]')
    }
  }
  return parts.join('\n')
}

describe('S3 credentials and header values are checked up front, and no kept cause quotes them', () => {
  it.each([
    ['accessKeyId', { accessKeyId: 'AKID\nEXAMPLE' }],
    ['accessKeyId', { accessKeyId: 'AKID EXAMPLE' }],
    ['accessKeyId', { accessKeyId: 'AKIDÉXAMPLE' }],
    ['secretAccessKey', { secretAccessKey: `${SECRET}\n${SECRET}` }],
    ['secretAccessKey', { secretAccessKey: `${SECRET}\u0000` }],
    ['sessionToken', { sessionToken: `${TOKEN}\r\nx-evil: 1` }],
    ['sessionToken', { sessionToken: `${TOKEN}\n` }],
    ['sessionToken', { sessionToken: `${TOKEN}\u2028` }],
  ])('%s with a control or non-printable character: ERR_VALIDATION at construction, never echoing it', (field, override) => {
    const spy = countingFetch()
    let error: unknown
    try {
      new S3Backend({ ...good, ...override, fetch: spy.fetch })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SnapshelfError)
    expect(error).toMatchObject({ code: 'ERR_VALIDATION', field })
    expect(everythingIn(error)).not.toContain(SECRET)
    expect(everythingIn(error)).not.toContain(TOKEN)
    expect(spy.seen).toEqual([])
  })

  it('an ifMatch with a newline is ERR_VALIDATION before any request', async () => {
    const spy = countingFetch()
    const backend = new S3Backend({ ...good, fetch: spy.fetch })
    await expect(backend.put('k', new Uint8Array([1]), { ifMatch: 'abc\ndef' })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'ifMatch',
    })
    expect(spy.seen).toEqual([])
  })

  it('a runtime error that quotes the request headers is not kept as the cause', async () => {
    // What undici, a proxy agent or a custom fetch may do: name the offending header, value and all.
    const quoting: typeof fetch = async (_input, init) => {
      const headers = new Headers(init?.headers)
      throw new TypeError(`refused header "authorization: ${headers.get('authorization')}", token ${headers.get('x-amz-security-token')}`, {
        cause: new Error(`secret was ${SECRET}`),
      })
    }
    const backend = new S3Backend({ ...good, fetch: quoting, retries: 1 })
    const error = await backend.get('k').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_REMOTE', message: expect.stringContaining('network error after 2 attempts') })
    // The kind of failure survives; the quoted credentials do not.
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    const all = everythingIn(error)
    for (const secret of [SECRET, TOKEN, 'Signature=', 'Credential=']) expect(all).not.toContain(secret)
  })

  it('a plain network error is still kept as the cause, for diagnosis', async () => {
    const backend = new S3Backend({ ...good, retries: 0 })
    const error = (await backend.get('k').catch((e: unknown) => e)) as Error
    expect(error).toMatchObject({ code: 'ERR_REMOTE' })
    expect(String(error.cause)).toMatch(/fetch failed/)
  })
})
