/** `snapshelf/r2`: filled in by its tier's issue. */
export {}
