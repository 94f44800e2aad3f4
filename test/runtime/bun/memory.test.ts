// Runs the contract suite in real Bun against the BUILT package, imported by name as a user would.
import { test } from 'bun:test'
import { MemoryStorage } from 'snapshelf'
import { runContractSuite } from 'snapshelf/testing'

runContractSuite((name, fn) => test(name, fn, 60_000), {
  name: 'MemoryStorage (bun)',
  create: async (options) => ({ store: new MemoryStorage(options) }),
})
