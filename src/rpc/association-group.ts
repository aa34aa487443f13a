/**
 * Association groups (MS-RPCE 3.3.1.5.6): connections that share context handles. A bind with
 * assoc_group_id 0 creates a group; a bind naming an existing id joins it. The group dies with
 * its last connection, and then tells its listeners (services release context handles there).
 */
import { randomInt } from 'node:crypto';
import type { AssociationGroupRef } from './call-context';
import { Few } from '../lib/few';

type CloseListener = (group: AssociationGroupRef) => void;

export class AssociationGroup implements AssociationGroupRef {
  /** Its connections (usually one); none once the last one left. */
  private members: Few<object>;
  private listeners: Few<CloseListener> = undefined;

  /** Made by the bind of its first connection (AssociationGroupTable.create). */
  constructor(readonly id: number, first: object, private readonly table: AssociationGroupTable) {
    this.members = first;
  }

  onClose(listener: CloseListener): () => void {
    if (this.isClosed) {
      // Too late to hold anything in this group: tell the caller at once, asynchronously.
      queueMicrotask(() => this.safeCall(listener));
      return () => undefined;
    }
    this.listeners = Few.add(this.listeners, listener);
    return () => {
      this.listeners = Few.remove(this.listeners, listener);
    };
  }

  /** The last connection left: the group is gone for good (a later bind cannot join it). */
  get isClosed(): boolean {
    return this.members === undefined;
  }

  add(conn: object): void {
    if (!this.isClosed && !Few.has(this.members, conn)) this.members = Few.add(this.members, conn);
  }

  remove(conn: object): void {
    if (!Few.has(this.members, conn)) return;
    this.members = Few.remove(this.members, conn);
    if (!this.isClosed) return;
    this.table.forget(this);
    const ls = Few.list(this.listeners);
    this.listeners = undefined;
    for (const l of ls) this.safeCall(l);
  }

  private safeCall(l: CloseListener): void {
    try {
      l(this);
    } catch (err) {
      this.table.report(err);
    }
  }
}

export class AssociationGroupTable {
  private readonly groups = new Map<number, AssociationGroup>();

  constructor(readonly report: (err: unknown) => void) {}

  /** A new group for the bind of `conn`, with a fresh non-zero id that is not in use. */
  create(conn: object): AssociationGroup {
    let id: number;
    // Below 2^31 and made an int32 (randomInt's result is a heap number to V8 whatever its
    // size): a 16 B heap number in each of the three fields and keys that hold it otherwise.
    do id = randomInt(1, 0x80000000) | 0; while (this.groups.has(id));
    const g = new AssociationGroup(id, conn, this);
    this.groups.set(id, g);
    return g;
  }

  /** The group's last connection left. */
  forget(g: AssociationGroup): void {
    this.groups.delete(g.id);
  }

  find(id: number): AssociationGroup | undefined {
    return this.groups.get(id);
  }

  get size(): number {
    return this.groups.size;
  }
}
