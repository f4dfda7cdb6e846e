/** A user error (bad flags, unknown ids, bad input files): printed without a stack, exit code `code`. */
export class UsageError extends Error {
  constructor(message: string, readonly code = 2) {
    super(message);
  }
}
