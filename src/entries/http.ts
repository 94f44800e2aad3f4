/**
 * `snapshelf/http`: snapshots over HTTP. `createSnapshotHandler` exposes any storage (typically
 * `R2Storage` in a Worker) as a small REST API with per-session authorization; `HttpStorage` is
 * the client, so a browser stores snapshots through your Worker and never holds R2 keys.
 * See `src/http/protocol.ts` for the wire protocol.
 */
import { HttpBackend, type HttpBackendOptions } from '../http/client.js'
import { BackendSnapshotStore } from '../core/store.js'
import type { Snapshot, StoreOptions } from '../core/types.js'

export { HttpBackend, type HttpBackendOptions } from '../http/client.js'
export { createSnapshotHandler, type SnapshotAccess, type SnapshotHandlerOptions, type SnapshotOperation } from '../http/handler.js'

/**
 * Options of `HttpStorage`: where the handler lives, how to reach it, and the store options.
 * `prefix` is local only (never sent): the server decides where bytes live.
 *
 * @example
 * const options: HttpStorageOptions = { baseUrl: '/api', headers: () => ({ authorization: `Bearer ${getToken()}` }) }
 */
export interface HttpStorageOptions extends HttpBackendOptions, StoreOptions {}

/**
 * The whole `SnapshotStore` contract against a `createSnapshotHandler` endpoint. Snapshots are
 * encoded (gzipped) here, in the client; the server stores the bytes as they come. `updateLatest`
 * is a compare-and-swap through `If-Match`, atomic across every client of the same server.
 * Errors are typed: 401/403 `AuthError`, 413 `TooLargeError`, 507 `QuotaError`, 5xx `RemoteError`.
 *
 * @example
 * import { HttpStorage } from 'snapshelf/http'
 * const storage = new HttpStorage({ baseUrl: 'https://app.example/api', headers: { authorization: `Bearer ${token}` } })
 * await storage.updateLatest({ location, mutate: (s) => ({ ...s!, appData: { ...s!.appData, seen: true } }) })
 */
export class HttpStorage<T = Snapshot> extends BackendSnapshotStore<T> {
  constructor(options: HttpStorageOptions) {
    // The backend strips the same `prefix` the store adds, so keys reach the server relative to it.
    super({ ...options, backend: new HttpBackend(options) })
  }
}
export type { KeyLayout } from '../http/layouts.js'
