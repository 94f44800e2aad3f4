// Runs the contract suite in real Deno against the BUILT package, imported by name as a user would.
import { MemoryStorage } from 'snapshelf'
import { runContractSuite } from 'snapshelf/testing'

runContractSuite((name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }), {
  name: 'MemoryStorage (deno)',
  create: async (options) => ({ store: new MemoryStorage(options) }),
})
