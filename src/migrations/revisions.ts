/**
 * Earlier revisions of the migrations that chatflow-db ships, by file name. A database that applied an
 * earlier revision is not "edited history": the runner records the current checksum and goes on. Only a
 * revision that leaves the same end state on every database that applied the earlier one belongs here.
 */
export const EARLIER_REVISIONS: ReadonlyMap<string, readonly string[]> = new Map([
  // 007 as shipped in chatflow-db 0.1.0 narrowed wide columns with a cast that could cut values; the
  // revision keeps wider columns and checks every other cast first. On a database where the first one
  // ran, the columns already have the target types, so re-running is not needed.
  ['007_converge_schema.sql', ['e4c2c8644261d9c9ddc6c3ee30e20a5c84234e2b8a910780ef135cac80284c04']],
]);
