import { expect, it } from 'vitest'
import { IndexedDBStorage } from 'snapshelf/indexeddb'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'
import { uniqueDbName } from './indexeddb-cases.js'

// LangGraph's validation suite in real Chromium over IndexedDBStorage: one database per checkpointer.
it('runs in Chromium', () => {
  expect(navigator.userAgent).toContain('Chrome')
})

await runLangGraphValidation('IndexedDBStorage (Chromium)', () => new IndexedDBStorage({ dbName: uniqueDbName() }))
