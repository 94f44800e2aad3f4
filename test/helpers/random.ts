/** The seeded PRNG the contract suite uses, shared with the tests (see src/testing/random.ts). */
export { prng } from 'snapshelf/testing'
