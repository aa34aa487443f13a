/** The admin routes are listed once (routes.ts); the README's table shows the same list. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_ROUTES } from '../../src/admin/routes';
import { statusAssetDir } from '../../src/admin/status/page';

const ROOT = path.resolve(__dirname, '..', '..');

describe('admin routes', () => {
  test("the README's table lists exactly ADMIN_ROUTES, in order", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (GET|POST) \| `([^`]+)` \| (.+) \|$/gm)].map((m) => ({ method: m[1], path: m[2], what: m[3].replace(/\\\|/g, '|') }));
    expect(rows).toEqual(ADMIN_ROUTES.map((r) => ({ ...r })));
  });

  test('the status page files are found from the sources and from the compiled dist/', () => {
    const src = path.join(ROOT, 'src', 'admin', 'status');
    expect(statusAssetDir(src)).toBe(src);
    expect(statusAssetDir(path.join(ROOT, 'dist', 'src', 'admin', 'status'))).toBe(src);
    for (const f of ['index.html', 'app.js', 'style.css']) expect(fs.existsSync(path.join(src, f))).toBe(true);
  });
});
