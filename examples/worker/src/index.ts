/**
 * snapshelf example Worker: snapshots live in R2 (binding `SNAPSHOTS`); browsers reach them
 * through `createSnapshotHandler` under `/api` with `HttpStorage`, so no browser ever holds R2
 * credentials. Everything else is the static files of `examples/browser`.
 *
 * Authorization here is an EXAMPLE, not security advice: a bearer token per user, mapped (in the
 * `USERS` variable) to the session ids that user may read and write.
 */
import { createSnapshotHandler, type SnapshotOperation } from 'snapshelf/http'
import { R2Storage, type R2BucketLike } from 'snapshelf/r2'

/** The Worker's bindings (wrangler.toml). */
export interface Env {
  SNAPSHOTS: R2BucketLike
  /** JSON: `{ "<token>": ["<sessionId>" | "<prefix>*", …] }`. */
  USERS: string
}

/** Whether `patterns` (exact ids or `prefix*`) allow `sessionId`. */
export function sessionAllowed(patterns: readonly string[], sessionId: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? sessionId.startsWith(p.slice(0, -1)) : sessionId === p))
}

/** Reads `Authorization: Bearer <token>` and looks the token up; unknown tokens allow nothing. */
export function authorizeByToken(users: Record<string, string[]>) {
  return (request: Request, { sessionId }: { sessionId: string; op: SnapshotOperation }): boolean => {
    const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1]
    const patterns = token !== undefined && Object.hasOwn(users, token) ? users[token] : undefined
    return Array.isArray(patterns) && sessionAllowed(patterns, sessionId)
  }
}

let cached: { users: string; handle: (request: Request) => Promise<Response> } | undefined

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // One handler per isolate (rebuilt only if the USERS variable changes).
    if (cached?.users !== env.USERS) {
      cached = {
        users: env.USERS,
        handle: createSnapshotHandler({
          storage: new R2Storage({ bucket: env.SNAPSHOTS }),
          basePath: '/api',
          authorize: authorizeByToken(JSON.parse(env.USERS) as Record<string, string[]>),
          onError: (error) => console.error('snapshot storage failed', error),
        }),
      }
    }
    const url = new URL(request.url)
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return cached.handle(request)
    return new Response('not found', { status: 404 })
  },
}
