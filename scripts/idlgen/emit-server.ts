/**
 * The server side of the interface: <I>Server<C> (one method per operation; an ASYNC one
 * answers later through its reply handle) and create<I>Interface, which binds a server to the
 * RPC runtime (src/ndr/dispatch.ts) with one dispatcher per back end.
 */
import type { Code } from './code';
import type { ModuleModel } from './model';
import { cap, q } from './layout';
import { operationParams } from './emit-operations';

export class ServerEmitter {
  constructor(private readonly c: Code, private readonly m: ModuleModel) {}

  emit(): void {
    const m = this.m;
    const c = this.c;
    const I = m.ifaceName;
    c.line(`/** The server side of ${m.iface.name}: one method per operation; an ASYNC one answers later through its reply. */`);
    c.open(`export interface ${cap(I)}Server<C> {`);
    for (const op of m.iface.ops) {
      if (op.placeholder) continue;
      if (op.async) c.line(`${op.name}(input: ${op.name}In, ctx: C, reply: Reply<${op.name}Out>): void;`);
      else c.line(`${op.name}(input: ${op.name}In, ctx: C): ${op.name}Out;`);
    }
    c.close();
    c.line();
    c.line('/** Bind a server to the RPC runtime: decode the request stub, call, encode the response (NDR 2.0 or NDR64). */');
    c.open(`export function create${cap(I)}Interface<C>(server: ${cap(I)}Server<C>): RpcInterface<C> {`);
    c.open('return {');
    c.line(`name: ${q(m.moduleName)},`);
    c.line(`syntax: ${I}_SYNTAX,`);
    c.line(`operationNames: ${I}_OPERATION_NAMES,`);
    this.emitDispatch('dispatch', '');
    this.emitDispatch('dispatchNdr64', 'Ndr64');
    c.close('};');
    c.close();
    c.line();
  }

  /** One dispatcher of create<I>Interface; `codecSuffix` names the back end's codecs ('' or 'Ndr64'). */
  private emitDispatch(name: string, codecSuffix: string): void {
    const c = this.c;
    const m = this.m;
    // An answer is encoded at once; an ASYNC operation takes a reply handle that encodes with
    // this back end's encoder when it answers. Decoding errors and faults are thrown (the
    // runtime answers them).
    c.open(`${name}(opnum: number, stub: Buffer, call: RpcCall<C>): Buffer | undefined {`);
    c.line('const littleEndian = call.littleEndian;');
    c.open('switch (opnum) {');
    for (const op of m.iface.ops) {
      if (op.placeholder) continue;
      const Cap = cap(op.name);
      const E = `encode${Cap}Out${codecSuffix}`;
      const D = `decode${Cap}In${codecSuffix}`;
      const { captured } = operationParams(op, 'out');
      if (op.async && captured.length) throw new Error(`${op.name}: ASYNC with captured out sizes is not supported`);
      if (!op.async && !captured.length) {
        c.line(`case ${op.opnum}: return ${E}(server.${op.name}(${D}(stub, littleEndian), call.context), littleEndian);`);
        continue;
      }
      c.open(`case ${op.opnum}: {`);
      if (op.async) {
        c.line(`server.${op.name}(${D}(stub, littleEndian), call.context, call.later(${E}));`);
        c.line('return undefined;');
      } else {
        c.line(`const input = ${D}(stub, littleEndian);`);
        c.line(`const out = server.${op.name}(input, call.context);`);
        c.line(`return ${E}({ ...out, ${captured.map((p) => `${p.name}: out.${p.name} ?? input.${p.name}`).join(', ')} }, littleEndian);`);
      }
      c.close();
    }
    c.line(`default: throw new DispatchFault(NCA_S_OP_RNG_ERROR, \`${m.iface.name}: no operation with opnum \${opnum}\`);`);
    c.close();
    c.close('},');
  }
}
