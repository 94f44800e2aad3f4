import { afterAll, beforeAll, expect, it } from 'vitest'
import { newSnapshotId } from 'snapshelf'
import { S3Backend, S3Storage } from 'snapshelf/s3'
import { sampleSnapshot } from 'snapshelf/testing'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { startRecorder, type Recorder } from '../helpers/recorder.js'
import { describeS3, s3Options, s3Server, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// A server (or anything between us and it) that answers with a redirect. Following it would send
// the signed request, `x-amz-security-token` included, to whatever host the answer names, and a
// 404 there would read as "no snapshot". Node's fetch; workerd and Chromium have their own tests
// (test/workers/s3.test.ts, test/node/s3-chromium.test.ts).
const prefix = uniquePrefix('redirects')
const SESSION_TOKEN = 'session-token-must-stay-home-0123456789'
const location = { sessionId: 's1', scope: 'agent', scopeId: 'main' }

describeS3('S3 never follows a redirect (real S3 behind a proxy that redirects)', () => {
  let proxy: FaultProxy
  let elsewhere: Recorder
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3Server!.endpoint })
    elsewhere = await startRecorder()
  })
  afterAll(async () => {
    await proxy?.close()
    await elsewhere?.close()
    await wipePrefix(prefix)
  })

  it.each([301, 302, 303, 307, 308])('a %i on every operation is ERR_REMOTE, and nothing reaches the other host', async (status) => {
    proxy.intercept = (req) => ({
      status,
      headers: { location: `${elsewhere.url}${req.url}`, 'content-type': 'application/xml' },
      body: Buffer.from(
        '<Error><Code>TemporaryRedirect</Code><Message>Please re-send this request to the specified temporary endpoint.</Message></Error>',
      ),
    })
    try {
      const backend = new S3Backend(s3Options({ endpoint: proxy.url, sessionToken: SESSION_TOKEN, retries: 0 }))
      const key = `${prefix}/s1/k`
      for (const op of [
        () => backend.get(key),
        () => backend.head(key),
        () => backend.put(key, new Uint8Array([1])),
        () => backend.put(key, new Uint8Array([1]), { ifMatch: 'abc' }),
        () => backend.list(`${prefix}/`),
        () => backend.delete([key]),
      ]) {
        const error = await op().then(
          (value) => ({ resolved: value }),
          (e: unknown) => e,
        )
        expect(error).toMatchObject({ code: 'ERR_REMOTE', status, message: expect.stringContaining('redirect') })
      }
      expect(elsewhere.requests).toEqual([])
    } finally {
      proxy.intercept = undefined
    }
  })

  it('the store reports a redirected read as an error, never as "no snapshot"', async () => {
    proxy.intercept = (req) => ({ status: 307, headers: { location: `${elsewhere.url}${req.url}` }, body: Buffer.alloc(0) })
    try {
      const store = new S3Storage(s3Options({ prefix, endpoint: proxy.url, sessionToken: SESSION_TOKEN }))
      await expect(store.loadSnapshot({ location })).rejects.toMatchObject({ code: 'ERR_REMOTE', status: 307 })
      await expect(store.hasSnapshot({ location })).rejects.toMatchObject({ code: 'ERR_REMOTE' })
      await expect(store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot: sampleSnapshot('r') })).rejects.toMatchObject({
        code: 'ERR_REMOTE',
      })
      expect(elsewhere.requests).toEqual([])
    } finally {
      proxy.intercept = undefined
    }
  })
})
