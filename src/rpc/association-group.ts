/**
 * Association groups (MS-RPCE 3.3.1.5.6): connections that share context handles. A bind with
 * assoc_group_id 0 creates a group; a bind naming an existing id joins it. The group dies with
 * its last connection, and then tells its listeners (services release context handles there).
 */
import { randomInt } from 'node:crypto';
import type { AssociationGroupRef } from './call-context';

export class AssociationGroup implements AssociationGroupRef {
  // Arrays made to size: a group usually has one connection and one listener, and a Set or a
  // pushed-to empty array costs ~0.15-0.2 KB each per connection (memory benchmark).
  private connections: number[] = [];
  private listeners: Array<(group: AssociationGroupRef) => void> = [];
  private closed = false;

  constructor(readonly id: number, private readonly onEmpty: (g: AssociationGroup) => void, private readonly report: (err: unknown) => void) {}

  onClose(listener: (group: AssociationGroupRef) => void): () => void {
    if (this.closed) {
      // Too late to hold anything in this group: tell the caller at once, asynchronously.
      queueMicrotask(() => this.safeCall(listener));
      return () => undefined;
    }
    if (this.listeners.length === 0) this.listeners = [listener];
    else this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get size(): number {
    return this.connections.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  add(connectionId: number): void {
    if (this.connections.length === 0) this.connections = [connectionId];
    else if (!this.connections.includes(connectionId)) this.connections.push(connectionId);
  }

  remove(connectionId: number): void {
    const i = this.connections.indexOf(connectionId);
    if (i < 0) return;
    this.connections.splice(i, 1);
    if (this.connections.length > 0 || this.closed) return;
    this.closed = true;
    this.onEmpty(this);
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) this.safeCall(l);
  }

  private safeCall(l: (group: AssociationGroupRef) => void): void {
    try {
      l(this);
    } catch (err) {
      this.report(err);
    }
  }
}

export class AssociationGroupTable {
  private readonly groups = new Map<number, AssociationGroup>();
  /** One function for every group (not a closure per group). */
  private readonly forget = (g: AssociationGroup): void => {
    this.groups.delete(g.id);
  };

  constructor(private readonly report: (err: unknown) => void) {}

  /** A new group with a fresh non-zero id that is not in use. */
  create(): AssociationGroup {
    let id: number;
    do id = randomInt(1, 0xffffffff); while (this.groups.has(id));
    const g = new AssociationGroup(id, this.forget, this.report);
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
