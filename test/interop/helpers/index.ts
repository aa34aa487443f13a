/**
 * Shared fixtures for interop tests (real peers in a private network namespace). Other
 * interop test files may import these; see each module's header for the facts it encodes.
 */
export * from './process';
export * from './peers';
export * from './net';
export * from './smbd';
export * from './witnessd';
export * from './smbtorture';
export * from './rpcclient';
export * from './clusapi-client';
export * from './kerberos';
