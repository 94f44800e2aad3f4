/**
 * `snapshelf/langgraph`: LangGraph JS's checkpoint saver over any snapshelf storage, for
 * `graph.compile({ checkpointer })`. Extends `BaseCheckpointSaver` from
 * `@langchain/langgraph-checkpoint`, an optional peer dependency that only this entry imports
 * (it is never bundled: install it beside `@langchain/langgraph`).
 *
 * @example
 * import { IndexedDBStorage } from 'snapshelf/indexeddb'
 * import { SnapshelfCheckpointSaver } from 'snapshelf/langgraph'
 * const graph = workflow.compile({ checkpointer: new SnapshelfCheckpointSaver({ storage: new IndexedDBStorage({ dbName: 'my-agent' }) }) })
 */
export {
  type CheckpointStorageTarget,
  SnapshelfCheckpointSaver,
  type SnapshelfCheckpointSaverOptions,
} from '../adapters/langgraph/saver.js'
export { langgraphLayout } from '../adapters/langgraph/layout.js'
