/** `snapshelf/tiered`: filled in by its tier's issue. */
export {}
