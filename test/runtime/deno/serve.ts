// What the Deno runners share: the test registrar and a real server on 127.0.0.1.
import type { TestFn } from 'snapshelf/testing'
import type { Serve } from '../harnesses.ts'

/** `Deno.test` without the op and resource sanitizers (stores keep timers and pooled sockets). */
export const denoTest: TestFn = (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false })

/** `Deno.serve` on a free port; unref'd, so it never keeps `deno test` alive after the last test. */
export const denoServe: Serve = (handler) =>
  new Promise((resolve) => {
    const server = Deno.serve(
      { hostname: '127.0.0.1', port: 0, onListen: ({ port }) => resolve({ origin: `http://127.0.0.1:${port}` }) },
      handler,
    )
    server.unref()
  })
