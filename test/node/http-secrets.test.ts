import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { MemoryStorage, newSnapshotId } from 'snapshelf'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { sampleSnapshot } from 'snapshelf/testing'

// No error HttpStorage raises may carry the caller's credentials, in any form a log could print:
// failures are injected where a token could leak (an error body that echoes the request's
// headers, a network error that quotes them, header values the platform would reject and quote)
// and every error is searched: message, stack, the whole cause chain, JSON and util.inspect.
const TOKEN = 'sk_live_7Hq2Zp9Lr4Vx8Nc3'
const AUTH = `Bearer ${TOKEN}`
const location = { sessionId: 's-leak', scope: 'agent', scopeId: 'main' }
type Send = (input: string, init: RequestInit) => Promise<Response>

/** Every printable form of `error` and of each error in its cause chain. */
function forms(error: unknown): string[] {
  const out = [String(error), JSON.stringify(error) ?? '', inspect(error, { depth: 10, showHidden: true })]
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth++) {
    if (!(e instanceof Error)) {
      out.push(String(e), JSON.stringify(e) ?? '')
      break
    }
    out.push(e.message, e.stack ?? '', JSON.stringify(e) ?? '', JSON.stringify(Object.entries(e)))
    e = e.cause
  }
  return out
}

/** Runs every operation of `store`, collecting what each rejects with (a resolve is a test failure). */
async function failures(store: HttpStorage): Promise<unknown[]> {
  const snapshot = sampleSnapshot('x')
  const calls = [
    () => store.loadSnapshot({ location }),
    () => store.hasSnapshot({ location }),
    () => store.commitSnapshot({ location, snapshotId: newSnapshotId(), snapshot }),
    () => store.saveSnapshot({ location, snapshotId: newSnapshotId(), isLatest: false, snapshot }),
    () => store.updateLatest({ location, mutate: (s) => s ?? snapshot }),
    () => store.listSnapshots({ location }),
    () => store.deleteSnapshot({ location, snapshotId: newSnapshotId() }),
    () => store.deleteSession({ sessionId: location.sessionId }),
  ]
  const errors: unknown[] = []
  for (const call of calls) {
    errors.push(
      await call().then(
        () => new Error('resolved'),
        (e: unknown) => e,
      ),
    )
  }
  return errors
}

function expectNoToken(errors: unknown[], what: string): void {
  for (const error of errors) {
    expect(error, what).toBeInstanceOf(Error)
    expect((error as Error).message, what).not.toBe('resolved')
    for (const form of forms(error)) {
      expect(form, what).not.toContain(TOKEN)
      expect(form, what).not.toContain(TOKEN.slice(0, 12))
    }
  }
}

describe('HttpStorage errors never carry a credential', () => {
  it('when the answer echoes the Authorization header (JSON, status text, every failure status)', async () => {
    for (const status of [400, 401, 403, 404, 405, 409, 412, 413, 415, 429, 500, 502, 503, 507]) {
      const echo: Send = async (_input, init) => {
        const auth = new Headers(init.headers).get('authorization')
        return Response.json(
          { error: `rejected authorization ${auth} (token ${auth?.slice(7)})` },
          { status, statusText: `Refused ${auth}` },
        )
      }
      // 404 and 412 are answers on reads / conditional writes; the operations that fail are checked.
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: echo, headers: { authorization: AUTH }, retries: 0 })
      const errors = (await failures(store)).filter((e) => (e as Error).message !== 'resolved')
      expect(errors.length, String(status)).toBeGreaterThan(0)
      expectNoToken(errors, `status ${status}`)
    }
  })

  it('when the handler itself echoes it, through authorize failing and a storage that quotes it', async () => {
    const server = new MemoryStorage()
    Object.assign(server.backend, { get: () => Promise.reject(new Error(`backend saw ${AUTH}`)) })
    const handle = createSnapshotHandler({
      storage: server,
      authorize: (request) => {
        if (request.method === 'DELETE') throw new Error(`token service refused ${request.headers.get('authorization')}`)
        return true
      },
    })
    const send: Send = (input, init) => handle(new Request(input, init))
    const store = new HttpStorage({ baseUrl: 'http://h.test', fetch: send, headers: () => ({ authorization: AUTH }), retries: 0 })
    expectNoToken(
      [
        await store.loadSnapshot({ location }).catch((e: unknown) => e),
        await store.deleteSnapshot({ location, snapshotId: newSnapshotId() }).catch((e: unknown) => e),
      ],
      'handler',
    )
  })

  it('when the network fails with an error that quotes the request', async () => {
    const throwing: Send[] = [
      async (_input, init) => {
        throw new TypeError(`fetch failed for ${new Headers(init.headers).get('authorization')}`)
      },
      async (_input, init) => {
        throw new TypeError('fetch failed', {
          cause: new Error(`socket closed; sent authorization: ${new Headers(init.headers).get('authorization')}`),
        })
      },
      async () => {
        throw `raw ${AUTH}`
      },
    ]
    for (const fetch of throwing) {
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch, headers: { authorization: AUTH }, retries: 1 })
      const errors = await failures(store)
      for (const error of errors) expect(error).toMatchObject({ code: 'ERR_REMOTE' })
      expectNoToken(errors, String(fetch))
    }
  })

  it('when a header value is one the platform refuses (inner line break, a character past U+00FF): a ValidationError up front', async () => {
    const bad = [
      `${AUTH}\r\nX-Injected: 1`,
      `Bearer ${TOKEN.slice(0, 8)}\n${TOKEN.slice(8)}`,
      `${AUTH}\u0000`,
      `${AUTH}\u2028`,
      `${AUTH} ünïcödé…`,
    ]
    let sent = 0
    const fetch: Send = async () => {
      sent++
      return new Response(null, { status: 404 })
    }
    for (const value of bad) {
      const construct = (): unknown => new HttpStorage({ baseUrl: 'http://h.test', fetch, headers: { authorization: value } })
      const thrown = (() => {
        try {
          construct()
        } catch (error) {
          return error
        }
        return undefined
      })()
      expect(thrown, JSON.stringify(value)).toMatchObject({ code: 'ERR_VALIDATION', field: 'headers' })
      expectNoToken([thrown], JSON.stringify(value))
      // A function's result is checked on every request, before anything is sent.
      const store = new HttpStorage({ baseUrl: 'http://h.test', fetch, headers: async () => ({ authorization: value }) })
      const errors = await failures(store)
      for (const error of errors) expect(error, JSON.stringify(value)).toMatchObject({ code: 'ERR_VALIDATION', field: 'headers' })
      expectNoToken(errors, JSON.stringify(value))
    }
    // A value's surrounding whitespace is no line break inside it (Headers trims it).
    new HttpStorage({ baseUrl: 'http://h.test', headers: { authorization: `${AUTH}\n` } })
    expect(sent).toBe(0)
  })

  it('when the base URL carries credentials: refused up front without quoting them', () => {
    for (const baseUrl of [`https://user:${TOKEN}@h.test/api`, `https://${TOKEN}@h.test/api`]) {
      let thrown: unknown
      try {
        new HttpStorage({ baseUrl })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toMatchObject({ code: 'ERR_VALIDATION', field: 'baseUrl' })
      expectNoToken([thrown], baseUrl)
    }
  })
})
