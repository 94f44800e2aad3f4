/** `snapshelf/http`: filled in by its tier's issue. */
export {}
