/**
 * The slice of a pino logger that src/auth uses, so tests can pass a recorder and the daemon
 * its pino instance. Never log a hash, a key or a password.
 */
export interface AuthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export const nullLogger: AuthLogger = {
  info() {},
  warn() {},
  debug() {},
};
