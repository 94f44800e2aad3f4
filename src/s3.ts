/** `snapshelf/s3`: filled in by its tier's issue. */
export {}
