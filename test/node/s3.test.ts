import { afterAll, it } from 'vitest'
import { S3Storage } from 'snapshelf/s3'
import { runContractSuite } from 'snapshelf/testing'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

const prefix = uniquePrefix('contract')

describeS3('S3Storage contract (real S3)', () => {
  afterAll(() => wipePrefix(prefix))
  runContractSuite(it, {
    name: 'S3Storage',
    create: async (options) => ({ store: new S3Storage(s3Options({ prefix, ...options })) }),
  })
})
