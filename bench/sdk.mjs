// The AWS SDK client the benches that compare with it build the same way (s3, memory).
import { S3Client } from '@aws-sdk/client-s3'

/**
 * `@aws-sdk/client-s3` for the S3 server `s3` ({ endpoint, region, accessKeyId, secretAccessKey }),
 * path-style, with `requestHandler` when given (a stub, to time the client alone).
 *
 * @example
 * const sdk = sdkClient(s3)
 */
export function sdkClient(s3, requestHandler) {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // What non-AWS servers need (older gateways reject the new default trailing checksums).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler,
  })
}
