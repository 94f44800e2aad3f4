import type http from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { S3Backend } from 'snapshelf/s3'
import { startFaultProxy, type FaultProxy, type ProxyAnswer } from '../helpers/fault-proxy.js'
import { describeS3, s3Options, s3Server } from '../helpers/s3.js'

// A server whose error answers echo the request's headers (a debugging proxy, a misconfigured
// gateway): whatever it says enters error messages and fields only after anything that looks
// like a credential, a signature or a token is redacted.
const TOKEN = 'FQoGZXIvYXdzEJr//////////wEaDOG2Z+session/token=0123456789'

/** An S3-style error answer whose every field repeats the request's credentials. */
function echo(req: http.IncomingMessage, status = 400): ProxyAnswer {
  const said = `authorization: ${req.headers.authorization}; x-amz-security-token: ${req.headers['x-amz-security-token']}`
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': `${req.headers['x-amz-security-token']}` },
    body: Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>Echo ${req.headers.authorization}</Code>` +
        `<Message>Rejected. Your request said: ${said}</Message><RequestId>req ${req.headers['x-amz-security-token']}</RequestId></Error>`,
    ),
  }
}

describeS3('S3 error messages never carry what a server echoed of our credentials', () => {
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3Server!.endpoint })
  })
  afterAll(() => proxy?.close())

  it.each([400, 403, 409, 500])('a %i whose error body echoes the request headers: message and fields redacted', async (status) => {
    proxy.intercept = (req) => echo(req, status)
    try {
      const backend = new S3Backend(s3Options({ endpoint: proxy.url, sessionToken: TOKEN, retries: 0 }))
      for (const op of [
        () => backend.get('k'),
        () => backend.put('k', new Uint8Array([1])),
        () => backend.list('p/'),
        () => backend.delete(['k']),
      ]) {
        const error = (await op().catch((e: unknown) => e)) as Error & Record<string, unknown>
        expect(error).toMatchObject({ status, message: expect.stringContaining('Rejected. Your request said') })
        const all = [error.message, error.stack, JSON.stringify(error), String(error.serverCode), String(error.requestId)].join('\n')
        for (const secret of [TOKEN, 'Signature=', 'Credential=', s3Server!.accessKeyId, s3Server!.secretAccessKey])
          expect(all).not.toContain(secret)
        expect(all).toContain('[redacted]')
      }
    } finally {
      proxy.intercept = undefined
    }
  })

  it('a DeleteObjects per-key error that echoes credentials is redacted too', async () => {
    proxy.intercept = (req) => ({
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(`<DeleteResult><Error><Key>k</Key><Code>Denied ${req.headers.authorization}</Code></Error></DeleteResult>`),
    })
    try {
      const backend = new S3Backend(s3Options({ endpoint: proxy.url, sessionToken: TOKEN, retries: 0 }))
      const error = (await backend.delete(['k']).catch((e: unknown) => e)) as Error
      expect(error).toMatchObject({ code: 'ERR_REMOTE', key: 'k' })
      expect(`${error.message} ${JSON.stringify(error)}`).not.toMatch(/Signature=|Credential=/)
    } finally {
      proxy.intercept = undefined
    }
  })

  it('ordinary server messages pass through untouched', async () => {
    proxy.intercept = () => ({
      status: 503,
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(
        '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>tx000000a1b2c3d4e5f-0065f1e2d3-1234-default</RequestId></Error>',
      ),
    })
    try {
      const backend = new S3Backend(s3Options({ endpoint: proxy.url, retries: 0 }))
      await expect(backend.get('k')).rejects.toMatchObject({
        serverCode: 'SlowDown',
        requestId: 'tx000000a1b2c3d4e5f-0065f1e2d3-1234-default',
        message: expect.stringContaining('503 SlowDown Please reduce your request rate.'),
      })
    } finally {
      proxy.intercept = undefined
    }
  })
})
