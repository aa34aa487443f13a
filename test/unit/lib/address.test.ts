import { addressKey, canonicalIpv6, formatHostPort, isLoopbackHost, parseHostPort } from '../../../src/lib/address';

describe('address helpers', () => {
  it('canonical IPv6 text as Node prints it', () => {
    expect(canonicalIpv6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIpv6('[fe80::1]')).toBe('fe80::1');
    expect(canonicalIpv6('1.2.3.4')).toBeUndefined();
    expect(canonicalIpv6('nonsense')).toBeUndefined();
  });

  it('addressKey: IPv4, IPv4-mapped IPv6, IPv6, and non-addresses', () => {
    expect(addressKey(' 10.0.0.1 ')).toBe('10.0.0.1');
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('0:0:0:0:0:ffff:a00:1')).toBe('10.0.0.1');
    expect(addressKey('FD00::0:1')).toBe('fd00::1');
    expect(addressKey('sofs.demo.local')).toBeUndefined();
    expect(addressKey('')).toBeUndefined();
  });

  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('parseHostPort', () => {
    expect(parseHostPort('127.0.0.1:8135')).toEqual({ host: '127.0.0.1', port: 8135 });
    expect(parseHostPort('127.0.0.11', 445)).toEqual({ host: '127.0.0.11', port: 445 });
    expect(parseHostPort('[fd00::1]:445')).toEqual({ host: 'fd00::1', port: 445 });
    expect(parseHostPort('fd00::1', 445)).toEqual({ host: 'fd00::1', port: 445 });
    expect(parseHostPort('smb1.example:4450')).toEqual({ host: 'smb1.example', port: 4450 });
    expect(() => parseHostPort('127.0.0.1')).toThrow(/a port is required/);
    expect(() => parseHostPort('127.0.0.1:99999')).toThrow(/out of range/);
    expect(() => parseHostPort('127.0.0.1:http')).toThrow(/not a number/);
    expect(() => parseHostPort('[fd00::1')).toThrow(/missing "\]"/);
    expect(() => parseHostPort(':80')).toThrow(/empty host/);
    expect(() => parseHostPort('bad host:80')).toThrow(/neither an IP address nor a host name/);
  });

  it('formatHostPort brackets IPv6', () => {
    expect(formatHostPort({ host: 'fd00::1', port: 1 })).toBe('[fd00::1]:1');
    expect(formatHostPort({ host: '127.0.0.1', port: 2 })).toBe('127.0.0.1:2');
  });
});

describe('ipv6Prefix64 (the unit of the per-source registration limit)', () => {
  it('gives the /64 of any spelling, and nothing for IPv4', () => {
    const { ipv6Prefix64 } = jest.requireActual('../../../src/lib/address') as typeof import('../../../src/lib/address');
    expect(ipv6Prefix64('2001:DB8:0:1:aaaa::5')).toBe('2001:db8:0:1::/64');
    expect(ipv6Prefix64('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipv6Prefix64('::1')).toBe('0:0:0:0::/64');
    expect(ipv6Prefix64('fe80:0:0:0:1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(ipv6Prefix64('127.0.0.1')).toBeUndefined();
  });
});
