import { it } from 'vitest'
import { runContractSuite } from 'snapshelf/testing'
import { indexedDBHarness, registerIndexedDBCases } from './indexeddb-cases.js'

// The contract suite and the tier's own cases in real Chromium (vitest browser mode, see
// vitest.browser.config.ts): Chromium's IndexedDB, BroadcastChannel and CompressionStream.

runContractSuite(it, indexedDBHarness('IndexedDBStorage (Chromium)'))

registerIndexedDBCases('Chromium')

// The real-quota test runs in test/node/indexeddb-chromium.test.ts: Chromium applies a quota
// override (DevTools' Storage.overrideQuotaForOrigin) reliably only to an origin whose storage
// was not opened yet, so it needs a fresh browser context, which playwright-core gives it.
