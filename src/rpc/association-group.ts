/**
 * Association groups (MS-RPCE 3.3.1.5.6): connections that share context handles. A bind with
 * assoc_group_id 0 creates a group; a bind naming an existing id joins it. The group dies with
 * its last connection, and then tells its listeners (services release context handles there).
 */
import { randomInt } from 'node:crypto';
import type { AssociationGroupRef } from './call-context';

export class AssociationGroup implements AssociationGroupRef {
  private readonly connections = new Set<number>();
  private listeners: Array<() => void> = [];
  private closed = false;

  constructor(readonly id: number, private readonly onEmpty: (g: AssociationGroup) => void, private readonly report: (err: unknown) => void) {}

  onClose(listener: () => void): () => void {
    if (this.closed) {
      // Too late to hold anything in this group: tell the caller at once, asynchronously.
      queueMicrotask(() => this.safeCall(listener));
      return () => undefined;
    }
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get size(): number {
    return this.connections.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  add(connectionId: number): void {
    this.connections.add(connectionId);
  }

  remove(connectionId: number): void {
    if (!this.connections.delete(connectionId) || this.connections.size > 0 || this.closed) return;
    this.closed = true;
    this.onEmpty(this);
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) this.safeCall(l);
  }

  private safeCall(l: () => void): void {
    try {
      l();
    } catch (err) {
      this.report(err);
    }
  }
}

export class AssociationGroupTable {
  private readonly groups = new Map<number, AssociationGroup>();

  constructor(private readonly report: (err: unknown) => void) {}

  /** A new group with a fresh non-zero id that is not in use. */
  create(): AssociationGroup {
    let id: number;
    do id = randomInt(1, 0xffffffff); while (this.groups.has(id));
    const g = new AssociationGroup(id, (x) => this.groups.delete(x.id), this.report);
    this.groups.set(id, g);
    return g;
  }

  find(id: number): AssociationGroup | undefined {
    return this.groups.get(id);
  }

  get size(): number {
    return this.groups.size;
  }
}
