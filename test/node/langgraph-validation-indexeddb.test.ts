// @vitest-environment happy-dom
import 'fake-indexeddb/auto'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { uniqueDbName } from '../browser/indexeddb-cases.js'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'

// LangGraph's validation suite over IndexedDBStorage (happy-dom + fake-indexeddb): one database
// per checkpointer. The same suite runs in real Chromium from test/browser/langgraph.test.ts.
await runLangGraphValidation('IndexedDBStorage (fake-indexeddb)', () => new IndexedDBStorage({ dbName: uniqueDbName() }))
