/**
 * `snapshelf/strands`: Strands Agents' unified byte `Storage` (SDK 1.19+) over any snapshelf
 * storage, for `new Agent({ storage })` and `SessionManager`. Types only from the SDK: nothing of
 * `@strands-agents/sdk` is bundled. (Strands' legacy `SnapshotStorage` needs no adapter: every
 * snapshelf storage already is one.)
 *
 * @example
 * import { Agent } from '@strands-agents/sdk'
 * import { IndexedDBStorage } from 'snapshelf/indexeddb'
 * import { StrandsStorage } from 'snapshelf/strands'
 * const agent = new Agent({ storage: new StrandsStorage({ storage: new IndexedDBStorage({ dbName: 'my-agent' }) }) })
 */
export { StrandsStorage, type StrandsStorageOptions, type StrandsStorageTarget } from '../adapters/strands/storage.js'
export { strandsLayout } from '../adapters/strands/layout.js'
