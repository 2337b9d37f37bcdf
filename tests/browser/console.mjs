// The emulator's console (/_emulator/console/) in headless Chromium against a running
// emulator started with an admin token: files uploaded and grouped through
// @uploadcare/upload-client, a webhook whose receiver fails created through
// @uploadcare/rest-client, then the console is opened through its token form and used as a person
// would: the file with its thumbnail loaded, the group with its members in order, the failed
// delivery redelivered, a fault set from the console and met by the next API call, the
// journal showing it, the clock moved. Screenshots of each page go to target/console/.
//
//   node console.mjs http://127.0.0.1:PORT ADMIN_TOKEN   (console.sh starts the emulator)
//
// Prints `ok`/`FAIL` lines and `N passed, M failed`; exit 1 on failure.
import { createServer } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { UploadClient, UploadError } from '@uploadcare/upload-client';
import { UploadcareSimpleAuthSchema, createWebhook } from '@uploadcare/rest-client';

const here = dirname(fileURLToPath(import.meta.url));
const [emulator, token] = process.argv.slice(2);
if (!emulator || !token) {
  console.error('usage: node console.mjs EMULATOR_BASE_URL ADMIN_TOKEN');
  process.exit(2);
}
const shots = process.env.UC_CONSOLE_SCREENSHOTS ?? join(here, '..', '..', 'target', 'console');
const chromiumPath = process.env.UC_CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 30_000;
const PUB = 'demopublickey';
const SECRET = 'demosecretkey';

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

// ---- a webhook receiver that fails until told otherwise
let receiverStatus = 500;
const received = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => { received.push({ status: receiverStatus, body }); res.writeHead(receiverStatus).end('x'); });
});
await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

// ---- setup over HTTP, as an SDK would
const admin = (path, init = {}) => fetch(`${emulator}${path}`, {
  ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
});
// ---- setup through the official SDKs, as an app would
const UC = new UploadClient({
  publicKey: PUB, baseURL: emulator, baseCDN: emulator,
  retryThrottledRequestMaxTimes: 0, retryNetworkErrorMaxTimes: 0,
});
const REST = {
  apiBaseURL: emulator,
  authSchema: new UploadcareSimpleAuthSchema({ publicKey: PUB, secretKey: SECRET }),
};
async function upload(name, w, h, rgb) {
  const file = await UC.uploadFile(png(w, h, rgb), {
    fileName: name, contentType: 'image/png', store: true, metadata: { origin: 'console-test' },
  });
  return file.uuid;
}

let hookCreated = null;
try {
  hookCreated = await createWebhook({ targetUrl: hookUrl, event: 'file.uploaded', isActive: true }, REST);
} catch (e) {
  hookCreated = e;
}
check('webhook created through @uploadcare/rest-client', hookCreated?.targetUrl === hookUrl, String(hookCreated?.message ?? ''));
const uuids = [
  await upload('red.png', 120, 80, [220, 30, 30]),
  await upload('green.png', 64, 64, [30, 180, 60]),
  await upload('blue <i onmouseover=x>&amp;.png', 48, 96, [30, 60, 220]),
];
// Members in an order of their own, one with its own effects.
const group = await UC.uploadFileGroup([uuids[2], `${uuids[0]}/-/grayscale/`, uuids[1]]);
const groupId = group.uuid;
const order = [uuids[2], uuids[0], uuids[1]];
const flushed = await admin('/_emulator/webhooks/flush', { method: 'POST' });
check('deliveries attempted (flush)', flushed.status === 200 && received.length >= 3, `${flushed.status}, receiver got ${received.length}`);

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const outside = [];
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  // Nothing may leave the machine: record and refuse every request off the emulator.
  await page.route((url) => !url.href.startsWith(emulator), (route) => { outside.push(route.request().url()); route.abort(); });
  await mkdir(shots, { recursive: true });
  const shot = async (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  // The token form.
  const first = await page.goto(`${emulator}/_emulator/console/`);
  check('console without the token answers 401 with a form', first.status() === 401, String(first.status()));
  // Chromium reports the 401 itself as a console error; count errors from here on.
  pageErrors.length = 0;
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForNavigation(), page.press('input[name="token"]', 'Enter')]);
  check('the token opens the console', (await page.locator('h1').textContent()) === 'Projects', await page.title());
  const files = await page.locator('.project .counts').first().textContent();
  check('projects page counts the files', /3\s*files/.test(files) && /3\s*stored/.test(files), files.replace(/\s+/g, ' '));
  await shot('projects');

  // Keyboard: the first Tab reaches the skip link, which leads to the content.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent);
  check('keyboard: first Tab focuses "Skip to content"', focused === 'Skip to content', focused);

  // Files: the grid with real thumbnails.
  await page.click('nav[aria-label="Console"] >> text=Files');
  const cell = page.locator(`li.cell[data-uuid="${uuids[0]}"]`);
  await cell.waitFor();
  await page.waitForFunction((u) => {
    const img = document.querySelector(`li.cell[data-uuid="${u}"] img`);
    return img && img.complete && img.naturalWidth > 0;
  }, uuids[0]);
  const thumb = await cell.locator('img').evaluate((i) => ({ src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight, box: i.parentElement.getBoundingClientRect().width }));
  check('file grid shows red.png with its thumbnail loaded from the CDN', thumb.w === 120 && thumb.h === 80 && thumb.src === `/${uuids[0]}/-/preview/160x160/`, JSON.stringify(thumb));
  const boxes = await page.$$eval('li.cell .thumb', (els) => [...new Set(els.map((e) => `${e.getBoundingClientRect().width}x${e.getBoundingClientRect().height}`))]);
  check('every thumbnail cell has the same fixed size', boxes.length === 1 && boxes[0] === '160x160', boxes.join(', '));
  const hostile = await page.locator(`li.cell[data-uuid="${uuids[2]}"] .name`).textContent();
  check('a file name with markup shows as text', hostile === 'blue <i onmouseover=x>&amp;.png', hostile);
  await shot('files');

  // The file's page and the CDN URL builder.
  await cell.locator('a').click();
  await page.waitForSelector('[data-builder]');
  await page.fill('[data-ops]', 'resize/60x/-/grayscale/');
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-preview]');
    return img.src.endsWith('/-/resize/60x/-/grayscale/') && img.complete && img.naturalWidth === 60;
  });
  const status = await page.locator('[data-status]').textContent();
  check('URL builder previews operations live', status === '60×40', status);
  const rest = await page.locator('pre.json').textContent();
  check('file page shows the REST JSON', JSON.parse(rest).uuid === uuids[0]);
  await shot('file');

  // The group: members in order, with their effects.
  await page.goto(`${emulator}/_emulator/console/groups`);
  await page.click(`a[href="/_emulator/console/groups/${groupId}"]`);
  const members = await page.$$eval('#members li', (lis) => lis.map((li) => li.dataset.uuid));
  check('group page lists the members in order', JSON.stringify(members) === JSON.stringify(order), JSON.stringify(members));
  const effects = await page.locator('#members li').nth(1).locator('code').first().textContent();
  check('the member shows its effects', effects === '-/grayscale/', effects);
  await page.waitForFunction(() => [...document.querySelectorAll('#members img')].every((i) => i.complete && i.naturalWidth > 0));
  await shot('group');
  // The README's picture (docs/console.png): the first screen of the group's page.
  await page.setViewportSize({ width: 1100, height: 760 });
  await page.screenshot({ path: join(shots, 'readme.png') });
  await page.setViewportSize({ width: 1200, height: 900 });

  // Webhooks: the failed delivery, redelivered from the console.
  await page.goto(`${emulator}/_emulator/console/webhooks`);
  const row = page.locator(`#deliveries tr[data-delivery]`).filter({ hasText: 'HTTP 500' }).first();
  await row.waitFor();
  const deliveryId = await row.getAttribute('data-delivery');
  check('a failed delivery is listed with its answer', (await row.getAttribute('data-state')) === 'pending', await row.textContent());
  await shot('webhooks');
  receiverStatus = 200;
  const before = received.length;
  await Promise.all([page.waitForNavigation(), row.locator('button', { hasText: 'Redeliver' }).click()]);
  let state = '';
  for (let i = 0; i < 50 && state !== 'delivered'; i += 1) {
    await page.goto(`${emulator}/_emulator/console/webhooks/deliveries/${deliveryId}`);
    state = await page.locator('dl.facts').getAttribute('data-state');
    if (state !== 'delivered') await page.waitForTimeout(200);
  }
  check('redeliver from the console delivers it', state === 'delivered' && received.length > before, `${state}, receiver got ${received.length - before} more`);
  await shot('delivery');

  // Faults: set one from the console; the next API call gets it.
  await page.goto(`${emulator}/_emulator/console/faults`);
  await page.selectOption('select[name="kind"]', 'error');
  await page.selectOption('select[name="api"]', 'upload');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Add fault")')]);
  const pending = await page.locator('#faults tbody').textContent();
  check('the fault is pending', pending.includes('error (500)') && pending.includes('upload'), pending);
  await shot('faults');
  let faulted = null;
  try {
    await UC.info(uuids[0]);
  } catch (e) {
    faulted = e;
  }
  check('the next SDK call (upload-client info) gets the fault',
    faulted instanceof UploadError && faulted.message === 'Internal error.', String(faulted?.message ?? 'no error'));
  let after = null;
  try {
    after = (await UC.info(uuids[0])).uuid;
  } catch (e) {
    after = String(e);
  }
  check('the SDK call after it does not', after === uuids[0], String(after));

  // The journal shows it, with the documented error code, and its whole answer. upload-client
  // asks for `jsonerrors=1`, so the error came as a 200 with the error in its JSON, as
  // production answers such calls.
  const faultedCall = `${emulator}/_emulator/console/requests?api=upload&q=UploadAPIError`;
  await page.goto(faultedCall);
  const line = page.locator('#requests tbody tr').first();
  const lineText = await line.textContent();
  check('the journal shows the faulted call', lineText.includes('/info/') && lineText.includes('UploadAPIError'), lineText.replace(/\s+/g, ' '));
  await page.goto(`${emulator}/_emulator/console/requests`);
  await shot('requests');
  await page.goto(faultedCall);
  await line.locator('a').click();
  const body = await page.locator('main pre').last().textContent();
  // The SDK's error carries the answer's message; the journal shows the whole answer.
  check('one request shows its whole answer', body.includes('UploadAPIError') && body.includes(faulted?.message ?? '\u0000'), body);

  // The clock.
  await page.goto(`${emulator}/_emulator/console/clock`);
  const t0 = await page.locator('dl.facts dd time').first().getAttribute('datetime');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("+1 day")')]);
  const t1 = await page.locator('dl.facts dd time').first().getAttribute('datetime');
  const moved = (Date.parse(t1) - Date.parse(t0)) / 3600_000;
  check('the clock moves a day from the console', moved >= 24 && moved < 25, `${moved} h`);
  await shot('clock');

  // Phone width and dark mode.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${emulator}/_emulator/console/files`);
  await page.waitForFunction(() => [...document.querySelectorAll('li.cell img')].every((i) => i.complete));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('phone width: no horizontal scrolling', overflow <= 0, `${overflow}px`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check('dark mode follows prefers-color-scheme', bg === 'rgb(19, 19, 22)', bg);
  await shot('files-phone-dark');

  check('the console loaded nothing from outside the emulator', outside.length === 0, outside.join(', '));
  check('no script errors', pageErrors.length === 0, pageErrors.join(' | '));
  console.log(`screenshots: ${shots}`);
} catch (e) {
  check('scenario ran to the end', false, e.stack ?? String(e));
  if (pageErrors.length) console.log(`browser errors:\n  ${pageErrors.slice(0, 10).join('\n  ')}`);
} finally {
  await browser.close();
  receiver.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
