/**
 * `snapshelf/testing`: the contract suite every tier passes, for your own backends too.
 *
 * @example
 * import { it } from 'vitest'
 * import { BackendSnapshotStore } from 'snapshelf'
 * import { runContractSuite } from 'snapshelf/testing'
 * runContractSuite(it, { name: 'kv', create: async (o) => ({ store: new BackendSnapshotStore({ ...o, backend: new KvBackend() }) }) })
 */
export {
  HOSTILE_IDS,
  runContractSuite,
  sampleSnapshot,
  snapshotIdAt,
  equal,
  ok,
  rejects,
  waitFor,
  AssertionError,
  type ContractHarness,
  type TestFn,
} from '../testing/contract.js'
export { prng } from '../testing/random.js'
