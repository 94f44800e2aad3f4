// What the Bun runners share: the test registrar and a real server on 127.0.0.1.
import { test } from 'bun:test'
import type { TestFn } from 'snapshelf/testing'
import type { Serve } from '../harnesses.ts'

/** bun's `test` with the suite's 60 s budget per test. */
export const bunTest: TestFn = (name, fn) => test(name, fn, 60_000)

/** `Bun.serve` on a free port; unref'd, so it never keeps `bun test` alive after the last test. */
export const bunServe: Serve = async (handler) => {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler })
  server.unref()
  return { origin: `http://127.0.0.1:${server.port}` }
}
