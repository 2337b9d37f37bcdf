// The Uploadcare File Uploader (@uploadcare/file-uploader) in headless Chromium against a
// running emulator: the user picks several images, the uploader uploads them and makes a
// group (groupOutput), the page shows the group and its images from the emulator's CDN.
//
//   node run.mjs http://127.0.0.1:PORT      (run.sh starts the emulator and calls this)
//
// Prints `ok`/`FAIL` lines, a screenshot path and `N passed, M failed`; exit 1 on failure.
import { createServer } from 'node:http';
import { readFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const emulator = process.argv[2];
if (!emulator) {
  console.error('usage: node run.mjs EMULATOR_BASE_URL');
  process.exit(2);
}
const screenshot = process.env.UC_BROWSER_SCREENSHOT
  ?? join(here, '..', '..', 'target', 'browser', 'uploader.png');
const chromiumPath = process.env.UC_CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 60_000;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed += 1; else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}

// ---- a tiny valid PNG of w x h pixels of one colour
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(w, h, [r, g, b]) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + 3 * w);
  for (let x = 0; x < w; x += 1) row.set([r, g, b], 1 + 3 * x);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- static server: page.html and the uploader's package files
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
const pkg = join(here, 'node_modules', '@uploadcare', 'file-uploader');
const pages = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = null;
  if (path === '/' || path === '/page.html') file = join(here, 'page.html');
  else if (path.startsWith('/fu/')) {
    const p = normalize(join(pkg, path.slice(4)));
    if (p.startsWith(pkg)) file = p;
  }
  try {
    if (!file) throw new Error('not found');
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
});
await new Promise((ok) => pages.listen(0, '127.0.0.1', ok));
const pageBase = `http://127.0.0.1:${pages.address().port}`;

const work = await mkdtemp(join(tmpdir(), 'uc-browser-'));
const files = [
  { name: 'red.png', w: 40, h: 30, rgb: [220, 30, 30] },
  { name: 'green.png', w: 32, h: 32, rgb: [30, 180, 60] },
  { name: 'blue.png', w: 24, h: 48, rgb: [30, 60, 220] },
].map((f) => ({ ...f, buffer: png(f.w, f.h, f.rgb), mimeType: 'image/png' }));

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // Playwright gives every launch a fresh, empty --user-data-dir of its own.
});
const emulatorRequests = [];
const consoleErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => { if (r.url().startsWith(emulator)) emulatorRequests.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  page.on('console', (m) => { if (process.env.UC_BROWSER_VERBOSE) console.log(`console: ${m.text()}`); });
  // The machine has no internet: anything outside loopback is answered locally, at once.
  await page.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => route.abort());

  await page.goto(`${pageBase}/page.html?emulator=${encodeURIComponent(emulator)}`);
  // The user opens the file dialog ("From device") and picks three images.
  const chooserPromise = page.waitForEvent('filechooser');
  await page.locator('uc-file-uploader-inline').getByRole('button', { name: /device|local|computer|browse|choose/i }).first().click();
  const chooser = await chooserPromise;
  check('file chooser allows several files', chooser.isMultiple());
  await chooser.setFiles(files.map(({ name, mimeType, buffer }) => ({ name, mimeType, buffer })));

  // The uploader may ask for confirmation; click its upload button when there is one.
  const uploadButton = page.locator('uc-file-uploader-inline').getByRole('button', { name: /^upload/i });
  const clicked = await uploadButton.first().click({ timeout: 3000 }).then(() => true, () => false);
  if (process.env.UC_BROWSER_VERBOSE) console.log(`upload button clicked: ${clicked}`);

  // The uploader reports success, then (groupOutput) a group; 1.33.2 makes a group on
  // upload success and another one on the collection's change, so wait until the network
  // is quiet and take the last group it announced.
  const outcome = await page.waitForFunction(
    () => (window.ucErrors.length ? { errors: window.ucErrors }
      : window.ucEvents.includes('common-upload-success') && window.ucGroup ? { ok: true } : null),
    null, { timeout: TIMEOUT },
  ).then((h) => h.jsonValue()).catch((e) => ({ errors: [String(e)] }));
  if (!check('uploader uploaded the files and created a group', outcome.ok, JSON.stringify(outcome.errors ?? ''))) {
    throw new Error('no group');
  }
  await page.waitForLoadState('networkidle');
  const group = await page.evaluate(() => window.ucGroup);
  const events = await page.evaluate(() => window.ucEvents);
  console.log(`uploader events: ${events.join(', ')}`);
  check('group has the three files', group.filesCount === 3 && group.files.length === 3, `filesCount=${group.filesCount}`);
  check('group CDN URL is on the emulator', group.cdnUrl.startsWith(`${emulator}/`) && group.cdnUrl.includes(group.uuid), group.cdnUrl);

  // The emulator knows the group with exactly those files.
  const info = await fetch(`${emulator}/group/info/?pub_key=demopublickey&group_id=${encodeURIComponent(group.uuid)}`);
  const body = await info.json();
  check('GET /group/info/ finds the group', info.status === 200 && body.id === group.uuid, `${info.status} ${body.id}`);
  const uuids = (body.files ?? []).map((f) => f?.uuid);
  check('group members are the uploaded files, in order', JSON.stringify(uuids) === JSON.stringify(group.files.map((f) => f.uuid)), JSON.stringify(uuids));
  const names = (body.files ?? []).map((f) => f?.original_filename);
  check('original file names kept', JSON.stringify(names) === JSON.stringify(files.map((f) => f.name)), JSON.stringify(names));

  // The page shows the group's URL and its images, loaded from the emulator's CDN.
  await page.waitForFunction(() => [...document.querySelectorAll('#images img')].every((i) => i.complete), null, { timeout: TIMEOUT });
  const shown = await page.locator('#group-url').textContent();
  check('page shows the group CDN URL', shown === group.cdnUrl, shown);
  const images = await page.$$eval('#images img', (imgs) => imgs.map((i) => ({ src: i.src, w: i.naturalWidth, h: i.naturalHeight })));
  check('nine images on the page (nth, file and preview URLs)', images.length === 9, String(images.length));
  for (const [i, img] of images.entries()) {
    const f = files[Math.floor(i / 3)];
    // `preview/16x16` fits the image inside 16x16, keeping its aspect ratio.
    const scale = i % 3 === 2 ? Math.min(16 / f.w, 16 / f.h, 1) : 1;
    const [w, h] = [Math.round(f.w * scale), Math.round(f.h * scale)];
    check(`image ${img.src.slice(emulator.length)} loads from the emulator CDN at ${w}x${h}`,
      img.src.startsWith(`${emulator}/`) && img.w === w && img.h === h, `${img.w}x${img.h}`);
  }
  const groupPosts = emulatorRequests.filter((r) => r === 'POST /group/').length;
  console.log(`POST /group/ requests: ${groupPosts}`);
  const calls = [...new Set(emulatorRequests)].filter((c) => /^(GET|POST) \/(base|info|group|multipart|from_url)\//.test(c)).sort();
  check('uploader used /base/, /info/ and /group/', ['POST /base/', 'GET /info/', 'POST /group/'].every((c) => calls.includes(c)), calls.join(', '));

  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
} catch (e) {
  if (e.message !== 'no group') check('scenario ran to the end', false, e.stack ?? String(e));
  console.log(`emulator requests: ${[...new Set(emulatorRequests)].join(', ')}`);
  if (consoleErrors.length) console.log(`browser console errors:\n  ${consoleErrors.slice(0, 10).join('\n  ')}`);
} finally {
  await browser.close();
  pages.close();
  await rm(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
