/**
 * `snapshelf/genkit`: Genkit's `SessionStore` (genkit 1.42+) over any snapshelf storage, for
 * `ai.defineAgent({ store })` and `ai.defineCustomAgent({ store })`: branching lineage, atomic
 * mutators on every tier, abort of detached turns through `onSnapshotStateChange`. Genkit is an
 * optional peer dependency: types from `genkit/beta`, and one value, `GenkitError`, from `genkit`.
 *
 * @example
 * import { IndexedDBStorage } from 'snapshelf/indexeddb'
 * import { GenkitSessionStore } from 'snapshelf/genkit'
 * const store = new GenkitSessionStore({ storage: new IndexedDBStorage({ dbName: 'my-agent' }) })
 */
export {
  GenkitSessionStore,
  type GenkitSessionStoreOptions,
  type GenkitSnapshotInfo,
  type GenkitStorageTarget,
} from '../adapters/genkit/store.js'
export {
  type GenkitKey,
  genkitLineageKey,
  genkitLineagePrefix,
  genkitSessionKey,
  genkitSnapshotKey,
  parseGenkitKey,
} from '../adapters/genkit/keys.js'
export { genkitLayout } from '../adapters/genkit/layout.js'
