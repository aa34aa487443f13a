/** The cheap probe: a TCP connection to the SMB port is accepted. */
import { connect } from 'node:net';
import { refusedByHost, socketErrorText, type Probe, type ProbeResult } from './probe';

export const tcpConnectProbe: Probe = (target, timeoutMs) =>
  new Promise<ProbeResult>((resolve) => {
    let done = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `no TCP connection within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => finish({ ok: true, detail: 'TCP connection accepted' }));
    socket.once('error', (err) => finish({ ok: false, detail: socketErrorText(err), ...(refusedByHost(err) ? { refused: true } : {}) }));
    socket.once('close', () => finish({ ok: false, detail: 'connection closed', refused: true }));
  });
