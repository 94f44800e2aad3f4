/** `snapshelf/indexeddb`: filled in by its tier's issue. */
export {}
