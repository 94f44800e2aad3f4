import { it } from 'vitest'
import { MemoryStorage } from 'snapshelf'
import { runContractSuite } from 'snapshelf/testing'

runContractSuite(it, { name: 'MemoryStorage (node)', create: async (options) => ({ store: new MemoryStorage(options) }) })
