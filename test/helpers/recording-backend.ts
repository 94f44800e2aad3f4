import { MemoryBackend, type BackendListPage, type BackendPutOptions } from 'snapshelf'

/**
 * A memory backend that records every call as one line (`get <key>`, `head <key>`, `put <key>`,
 * `delete <k1>,<k2>`, `list <prefix> after=<cursor> limit=<n>`), so a test can assert which
 * requests an adapter sends, and none at all before a refusal. `maxListPage` is what the backend
 * says it lists at most (callers page by it); small values exercise paging.
 *
 * @example
 * const backend = new RecordingBackend(2)
 * await new StrandsStorage({ storage: { backend, prefix: '' } }).list('session/')
 * expect(backend.calls.filter((c) => c.startsWith('list'))).toHaveLength(3)
 */
export class RecordingBackend extends MemoryBackend {
  calls: string[] = []
  constructor(readonly maxListPage = 1000) {
    super()
  }
  override async get(key: string) {
    this.calls.push(`get ${key}`)
    return super.get(key)
  }
  override async head(key: string) {
    this.calls.push(`head ${key}`)
    return super.head(key)
  }
  override async put(key: string, body: Uint8Array, o?: BackendPutOptions) {
    this.calls.push(`put ${key}`)
    return super.put(key, body, o)
  }
  override async delete(keys: string[]) {
    this.calls.push(`delete ${keys.join(',')}`)
    return super.delete(keys)
  }
  override async list(prefix: string, o: { startAfter?: string; limit?: number } = {}): Promise<BackendListPage> {
    this.calls.push(`list ${prefix} after=${o.startAfter ?? ''} limit=${o.limit}`)
    return super.list(prefix, o)
  }
}
