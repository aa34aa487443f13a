import { MetricsRegistry, WitnessdMetrics, countRegistrationEvents, sameLabels } from '../../src/admin/metrics';
import { RegistrationStream, type Registration } from '../../src/witness/stream';

describe('metrics registry', () => {
  it('renders counters and gauges in the Prometheus text format', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_requests_total', 'Requests', ['code']);
    c.inc({ code: '200' });
    c.inc({ code: '200' }, 2);
    c.inc({ code: '404' });
    const g = r.gauge('x_temperature', 'Temp "now"\nhere');
    g.set({}, 21.5);
    expect(r.render()).toBe(
      [
        '# HELP x_requests_total Requests',
        '# TYPE x_requests_total counter',
        'x_requests_total{code="200"} 3',
        'x_requests_total{code="404"} 1',
        '# HELP x_temperature Temp "now"\\nhere',
        '# TYPE x_temperature gauge',
        'x_temperature 21.5',
        '',
      ].join('\n'),
    );
  });

  it('a frozen labels object counted again goes to its series; a reused mutable one goes where its values say', () => {
    const r = new MetricsRegistry();
    const c = r.counter('z_total', 'z', ['type']);
    const memo = sameLabels();
    const make = (t: string) => Object.freeze({ type: t });
    for (let i = 0; i < 3; i++) c.inc(memo.get('A', undefined, undefined, make));
    c.inc(memo.get('B', undefined, undefined, make));
    c.inc(memo.get('A', undefined, undefined, make));
    const mutable: { type: string } = { type: 'A' };
    c.inc(mutable);
    mutable.type = 'B';
    c.inc(mutable);
    expect([c.get({ type: 'A' }), c.get({ type: 'B' })]).toEqual([5, 2]);
    c.reset();
    c.inc(memo.get('B', undefined, undefined, make));
    expect([c.get({ type: 'A' }), c.get({ type: 'B' })]).toEqual([0, 1]);
  });

  it('escapes label values and keeps declared label order', () => {
    const r = new MetricsRegistry();
    r.counter('y_total', 'y', ['a', 'b']).inc({ b: 'q"\\\n', a: '1' });
    expect(r.render()).toContain('y_total{a="1",b="q\\"\\\\\\n"} 1');
  });

  it('same name returns the same metric; conflicts and bad input throw', () => {
    const r = new MetricsRegistry();
    expect(r.counter('z_total', 'z')).toBe(r.counter('z_total', 'z'));
    expect(() => r.gauge('z_total', 'z')).toThrow(/another type/);
    expect(() => r.counter('z_total', 'z', ['l'])).toThrow(/another type or labels/);
    expect(() => r.counter('bad-name', 'x')).toThrow(/bad metric name/);
    expect(() => r.counter('q_total', 'q').inc({}, -1)).toThrow(/only go up/);
    expect(() => r.counter('q_total', 'q').inc({ nolabel: 'x' })).toThrow(/no label nolabel/);
  });

  it('collectors run at scrape time; a failing one does not break the scrape', () => {
    const r = new MetricsRegistry();
    const g = r.gauge('live', 'live value');
    let v = 1;
    r.addCollector(() => g.set({}, v));
    const remove = r.addCollector(() => {
      throw new Error('broken');
    });
    expect(r.render()).toContain('live 1');
    v = 7;
    expect(r.render()).toContain('live 7');
    remove();
    expect(r.render()).toContain('live 7');
  });

  it('the number of label combinations is bounded', () => {
    const r = new MetricsRegistry();
    const c = r.counter('many_total', 'm', ['k']);
    for (let i = 0; i < 10_050; i++) c.inc({ k: String(i) });
    expect(r.render().split('\n').filter((l) => l.startsWith('many_total{')).length).toBe(10_000);
  });

  it('the standard witnessd instruments', () => {
    const m = new WitnessdMetrics();
    m.notifications.inc({ type: 'RESOURCE_CHANGE' });
    m.rpcCalls.inc({ interface: 'witness', opnum: 3 });
    m.pendingAsyncNotify.set({}, 4);
    const text = m.registry.render();
    expect(text).toContain('witnessd_notifications_total{type="RESOURCE_CHANGE"} 1');
    expect(text).toContain('witnessd_rpc_calls_total{interface="witness",opnum="3"} 1');
    expect(text).toContain('witnessd_pending_async_notify 4');
    expect(text).toContain('# TYPE witnessd_probe_results_total counter');
  });
});

describe('countRegistrationEvents', () => {
  it('feeds the Witness service\'s registration stream into the shared instruments', () => {
    const m = new WitnessdMetrics();
    const events = new RegistrationStream();
    const off = countRegistrationEvents(m, events);
    const registration = { version: 0x00020000 } as Registration;
    events.publish({ type: 'delivered', registration, response: { type: 2, addresses: [] }, forced: false, result: 0, raisedAt: undefined });
    events.publish({ type: 'registered', registration });
    events.publish({ type: 'removed', registration, reason: 'operator' });
    off();
    events.publish({ type: 'registered', registration }); // unsubscribed: not counted
    const text = m.registry.render();
    expect(text).toContain('witnessd_notifications_total{type="CLIENT_MOVE"} 1');
    expect(text).toContain('witnessd_registrations_added_total{version="2"} 1');
    expect(text).toContain('witnessd_registrations_removed_total{reason="operator"} 1');
  });
});
