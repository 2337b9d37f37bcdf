// Scenarios running @uploadcare/upload-client and @uploadcare/rest-client 6.21.0,
// unchanged, against the emulator. Only the packages' public API is used, configured
// with the emulator's base URLs and keys.
//
// Environment (set by tests/sdk/run.sh):
//   UC_UPLOAD_URL, UC_API_URL, UC_CDN_URL    base URLs of the Upload API, REST API and CDN
//   UC_PUB_KEY, UC_SECRET_KEY                a project with unsigned uploads allowed
//   UC_SIGNED_PUB_KEY, UC_SIGNED_SECRET_KEY  a project requiring signed uploads (optional)
//
// Each scenario prints `ok <name>` or `FAIL <name>: <reason>`; the last line is
// `N passed, M failed` and the exit status is non-zero when M > 0. Scenarios that need
// the REST API say so in their failure reason ("[needs REST API] ...").

import { createHmac, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { deflateSync } from 'node:zlib'

import { UploadClient, UploadError } from '@uploadcare/upload-client'
import {
  AddonExecutionStatus,
  AddonName,
  RestClientError,
  RestClientValidationError,
  UploadcareAuthSchema,
  UploadcareSimpleAuthSchema,
  addonExecutionStatus,
  addonJobPoller,
  copyFileToLocalStorage,
  copyFileToRemoteStorage,
  ConversionStatus,
  ConversionType,
  conversionInfo,
  conversionJobPoller,
  conversionJobStatus,
  convert,
  createWebhook,
  deleteFile,
  deleteGroup,
  deleteWebhook,
  executeAddon,
  fileInfo,
  getTags,
  groupInfo,
  listOfGroups,
  listOfWebhooks,
  paginate,
  replaceTags,
  searchFiles,
  storeFile,
  storeFiles,
  updateMetadata,
  updateTags,
  updateWebhook
} from '@uploadcare/rest-client'

function env(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined) {
    console.error(`scenarios.mjs: environment variable ${name} is required`)
    process.exit(2)
  }
  return value
}

const UPLOAD_URL = env('UC_UPLOAD_URL')
const API_URL = env('UC_API_URL')
const CDN_URL = env('UC_CDN_URL').replace(/\/+$/, '')
const PUB_KEY = env('UC_PUB_KEY')
const SECRET_KEY = env('UC_SECRET_KEY')
const SIGNED_PUB_KEY = process.env.UC_SIGNED_PUB_KEY
const SIGNED_SECRET_KEY = process.env.UC_SIGNED_SECRET_KEY
const SCENARIO_TIMEOUT_MS = 30_000

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const GROUP_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}~[0-9]+$/
// The documented 401 `detail` strings of the REST API (authorizationProblemsResponse).
const AUTH_DETAILS = [
  'Incorrect authentication credentials.',
  'Secret key not found.',
  'Invalid signature. Please check your Secret key.'
]

const uploadClient = (publicKey = PUB_KEY, extra = {}) =>
  new UploadClient({ publicKey, baseURL: UPLOAD_URL, baseCDN: CDN_URL, ...extra })

const signedAuth = (publicKey = PUB_KEY, secretKey = SECRET_KEY) => ({
  apiBaseURL: API_URL,
  authSchema: new UploadcareAuthSchema({ publicKey, secretKey })
})
const simpleAuth = (publicKey = PUB_KEY, secretKey = SECRET_KEY) => ({
  apiBaseURL: API_URL,
  authSchema: new UploadcareSimpleAuthSchema({ publicKey, secretKey })
})

const UC = uploadClient()
const REST = signedAuth()

// ------------------------------------------------------------------ fixtures

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (buf) => {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A valid RGB PNG of the given size. */
function png(width, height) {
  const chunk = (kind, data) => {
    const body = Buffer.concat([Buffer.from(kind, 'latin1'), data])
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const rows = []
  for (let y = 0; y < height; y++) {
    rows.push(0)
    for (let x = 0; x < width; x++) rows.push((x * 7) % 256, (y * 11) % 256, (x + y) % 256)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0))
  ])
}

const uploadText = (options = {}, client = UC) =>
  client.uploadFile(Buffer.from('hello from the sdk suite\n'), {
    fileName: 'hello.txt',
    contentType: 'text/plain',
    ...options
  })

const uploadPng = (width, height, options = {}) =>
  UC.uploadFile(png(width, height), { fileName: 'pixel.png', contentType: 'image/png', ...options })

/** `signature`/`expire` for a signed upload, computed as a user's backend would. */
function signUpload(secret, ttlSeconds = 60) {
  const expire = String(Math.floor(Date.now() / 1000) + ttlSeconds)
  const signature = createHmac('sha256', secret).update(expire).digest('hex')
  return { secureSignature: signature, secureExpire: expire }
}

// ------------------------------------------------------------------ checks

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message)
}

function eq(got, want, what) {
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  if (g !== w) throw new Failure(`${what}: expected ${w}, got ${g}`)
}

/** Awaits `action`, which must reject with an instance of `type`; returns the error. */
async function expectError(type, action, what) {
  let result
  try {
    result = await action()
  } catch (e) {
    if (e instanceof type) return e
    const failure = new Failure(
      `${what}: expected ${type.name}, got ${e?.constructor?.name}: ${e?.message}`
    )
    failure.cause = e
    throw failure
  }
  throw new Failure(`${what}: expected ${type.name}, but it succeeded (${JSON.stringify(result)})`)
}

/** Runs `checks`; a failure keeps `error` as its cause, for the report. */
function checking(error, checks) {
  try {
    checks()
  } catch (failure) {
    failure.cause ??= error
    throw failure
  }
  return error
}

async function expectUploadError(action, message, code, what) {
  const e = await expectError(UploadError, action, what)
  return checking(e, () => {
    eq(e.message, message, `${what}: message`)
    eq(e.code, code, `${what}: error_code`)
  })
}

async function expectRestError(action, status, statusText, details, what) {
  const e = await expectError(RestClientError, action, what)
  const allowed = Array.isArray(details) ? details : [details]
  const messages = allowed.map((d) => `[${status} ${statusText}] ${d}`)
  return checking(e, () => {
    check(
      messages.includes(e.message),
      `${what}: expected message ${messages.map((m) => JSON.stringify(m)).join(' or ')}, ` +
        `got ${JSON.stringify(e.message)}`
    )
    eq(e.status, status, `${what}: status`)
  })
}

// ------------------------------------------------------------------ scenarios

const SCENARIOS = []
const scenario = (name, fn, { rest = false } = {}) => SCENARIOS.push({ name, fn, rest })
const restScenario = (name, fn) => scenario(name, fn, { rest: true })

/** Uploads `n` small files and makes a group of them with the upload client. */
async function newGroup(n = 2, options = {}) {
  const files = []
  for (let i = 0; i < n; i++) {
    files.push(
      await UC.uploadFile(Buffer.from(`member ${i}\n`), {
        fileName: `member${i}.txt`,
        contentType: 'text/plain',
        ...options
      })
    )
  }
  const group = await UC.group(files.map((f) => f.uuid))
  return { group, files }
}

// Upload API -----------------------------------------------------------------

scenario('upload_small_file', async () => {
  const data = Buffer.from('hello from the sdk suite\n')
  const file = await UC.uploadFile(data, { fileName: 'hello.txt', contentType: 'text/plain' })
  check(UUID_RE.test(file.uuid), `uuid ${file.uuid}`)
  eq(file.size, data.length, 'size')
  eq(file.name, 'hello.txt', 'name')
  eq(file.originalFilename, 'hello.txt', 'originalFilename')
  eq(file.isImage, false, 'isImage')
  eq(file.mimeType, 'text/plain', 'mimeType')
  eq(file.cdnUrl, `${CDN_URL}/${file.uuid}/`, 'cdnUrl')
  eq(file.isStored, true, 'isStored (demo project autostores)')
})

scenario('upload_multipart_sized_file', async () => {
  // upload-client switches to multipart (start, part PUTs, complete) at 25 MB.
  const data = Buffer.alloc(26 * 1024 * 1024, 7)
  const file = await UC.uploadFile(data, {
    fileName: 'big.bin',
    contentType: 'application/octet-stream'
  })
  check(UUID_RE.test(file.uuid), `uuid ${file.uuid}`)
  eq(file.size, data.length, 'size of the multipart upload')
})

scenario('upload_throttle_is_retried', async () => {
  // One RequestThrottledError on the next Upload API call: upload-client retries it once.
  const armed = await fetch(new URL('/_emulator/faults', API_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'throttle', api: 'upload', count: 1, retry_after: 1 })
  })
  eq(armed.status, 201, 'fault armed')
  const data = Buffer.from('after a throttle\n')
  const file = await UC.uploadFile(data, { fileName: 'retry.txt', contentType: 'text/plain' })
  check(UUID_RE.test(file.uuid), `uuid ${file.uuid}`)
  eq(file.size, data.length, 'size')
})

scenario('upload_png_image', async () => {
  const file = await uploadPng(20, 10)
  eq(file.isImage, true, 'isImage')
  eq(file.mimeType, 'image/png', 'mimeType')
  eq(
    [file.imageInfo?.width, file.imageInfo?.height, file.imageInfo?.format],
    [20, 10, 'PNG'],
    'imageInfo width/height/format'
  )
  eq(file.contentInfo?.mime?.mime, 'image/png', 'contentInfo.mime.mime')
  eq([file.contentInfo?.image?.width, file.contentInfo?.image?.height], [20, 10], 'contentInfo.image')
})

scenario('upload_store_false', async () => {
  const file = await uploadText({ store: false })
  eq(file.isStored, false, 'isStored')
})

scenario('upload_with_metadata', async () => {
  const file = await uploadText({ metadata: { kind: 'sdk-test', n: '1' } })
  eq(file.metadata, { kind: 'sdk-test', n: '1' }, 'metadata')
})

scenario('file_info_by_uuid', async () => {
  const file = await uploadText()
  const info = await UC.info(file.uuid)
  eq(info.uuid, file.uuid, 'uuid')
  eq(info.isReady, true, 'isReady')
  eq(info.filename, 'hello.txt', 'filename')
  const again = await UC.uploadFile(file.uuid) // "upload" from an uploaded uuid
  eq(again.uuid, file.uuid, 'uploadFile(uuid).uuid')
})

scenario('upload_file_group_from_buffers', async () => {
  const group = await UC.uploadFileGroup([Buffer.from('a\n'), png(4, 4)], {
    fileName: 'grouped.bin'
  })
  check(GROUP_ID_RE.test(group.uuid), `group id ${group.uuid}`)
  check(group.uuid.endsWith('~2'), `group id ${group.uuid} should end in ~2`)
  eq(group.files.length, 2, 'files')
  eq(group.isImage, true, 'isImage (one member is a PNG)')
  eq(group.totalSize, group.files[0].size + group.files[1].size, 'totalSize')
  eq(group.cdnUrl, `${CDN_URL}/${group.uuid}/`, 'cdnUrl')
})

scenario('upload_file_group_from_uuids', async () => {
  const a = await uploadText()
  const b = await uploadPng(5, 5)
  const group = await UC.uploadFileGroup([a.uuid, b.uuid])
  check(group.uuid.endsWith('~2'), `group id ${group.uuid} should end in ~2`)
  eq(group.files.map((f) => f.uuid), [a.uuid, b.uuid], 'member uuids')
  eq(group.files.map((f) => f.cdnUrl), [a.cdnUrl, b.cdnUrl], 'member cdnUrls')
  eq(group.storedAt, null, 'storedAt (datetime_stored is null at creation)')
})

scenario('group_with_cdn_operations_member', async () => {
  const a = await uploadText()
  const b = await uploadPng(16, 16)
  const info = await UC.group([a.uuid, `${b.uuid}/-/resize/x800/`])
  check(GROUP_ID_RE.test(info.id) && info.id.endsWith('~2'), `group id ${info.id}`)
  eq(info.filesCount, 2, 'filesCount')
  eq(info.files.map((f) => f.uuid), [a.uuid, b.uuid], 'member uuids')
  eq(info.files.map((f) => f.defaultEffects), ['', 'resize/x800/'], 'defaultEffects')
  check(typeof info.datetimeCreated === 'string', 'datetimeCreated')
  eq(info.cdnUrl.replace(/\/$/, '').split('/').pop(), info.id, 'cdnUrl tail')

  const again = await UC.groupInfo(info.id)
  eq(again.id, info.id, 'groupInfo id')
  eq(again.datetimeCreated, info.datetimeCreated, 'groupInfo datetimeCreated')
  eq(again.files.map((f) => f.defaultEffects), ['', 'resize/x800/'], 'groupInfo defaultEffects')
})

scenario('group_members_as_cdn_urls', async () => {
  const a = await uploadText()
  const info = await UC.group([`${CDN_URL}/${a.uuid}/`, `${CDN_URL}/${a.uuid}/-/preview/`])
  eq(info.files.map((f) => f.uuid), [a.uuid, a.uuid], 'member uuids')
  eq(info.files.map((f) => f.defaultEffects), ['', 'preview/'], 'defaultEffects')
})

scenario('signed_project_upload_and_group', async () => {
  if (!SIGNED_PUB_KEY || !SIGNED_SECRET_KEY) throw new Failure('UC_SIGNED_* not set (run via run.sh)')
  const client = uploadClient(SIGNED_PUB_KEY)
  const file = await uploadText(signUpload(SIGNED_SECRET_KEY), client)
  const group = await client.group([file.uuid], signUpload(SIGNED_SECRET_KEY))
  check(group.id.endsWith('~1'), `group id ${group.id}`)
})

scenario('error_unknown_public_key', async () => {
  await expectUploadError(
    () => uploadText({}, uploadClient('nosuchpublickey')),
    'UPLOADCARE_PUB_KEY is invalid.',
    'ProjectPublicKeyInvalidError',
    'upload with an unknown public key'
  )
  await expectUploadError(
    () => uploadClient('nosuchpublickey').groupInfo(`${randomUUID()}~1`),
    'pub_key is invalid.',
    'ProjectPublicKeyInvalidError',
    'groupInfo with an unknown public key'
  )
})

scenario('error_unknown_file_in_group', async () => {
  const a = await uploadText()
  await expectUploadError(
    () => UC.group([a.uuid, randomUUID()]),
    'Some files not found.',
    'GroupFilesNotFoundError',
    'group with an unknown uuid'
  )
})

scenario('error_invalid_group_member', async () => {
  await expectUploadError(
    () => UC.group(['not-a-file']),
    'This is not valid file url: not-a-file.',
    'GroupFileURLParsingFailedError',
    'group with a malformed member'
  )
})

scenario('error_unknown_group', async () => {
  await expectUploadError(
    () => UC.groupInfo(`${randomUUID()}~3`),
    'group_id is invalid.',
    'GroupNotFoundError',
    'groupInfo of an unknown group'
  )
})

scenario('error_unknown_file_info', async () => {
  await expectUploadError(
    () => UC.info(randomUUID()),
    'File is not found.',
    'FileNotFoundError',
    'info of an unknown file'
  )
})

scenario('error_signed_project_signatures', async () => {
  if (!SIGNED_PUB_KEY) throw new Failure('UC_SIGNED_PUB_KEY not set (run via run.sh)')
  const client = uploadClient(SIGNED_PUB_KEY)
  await expectUploadError(
    () => uploadText({}, client),
    '`signature` is required.',
    'SignatureRequiredError',
    'unsigned upload'
  )
  await expectUploadError(
    () => uploadText(signUpload('not-the-secret'), client),
    'Invalid signature.',
    'SignatureInvalidError',
    'upload signed with a wrong secret'
  )
  await expectUploadError(
    () => uploadText(signUpload(SIGNED_SECRET_KEY ?? '', -3600), client),
    'Expired signature.',
    'SignatureExpirationError',
    'upload with an expired signature'
  )
})

// REST API -------------------------------------------------------------------

restScenario('rest_group_info', async () => {
  const a = await uploadText()
  const b = await uploadPng(8, 8)
  const created = await UC.group([a.uuid, `${b.uuid}/-/resize/x800/`])
  const info = await groupInfo({ uuid: created.id }, REST)
  eq(info.id, created.id, 'id')
  eq(info.filesCount, 2, 'filesCount')
  check(typeof info.datetimeCreated === 'string', 'datetimeCreated')
  eq(info.files.map((f) => f?.uuid), [a.uuid, b.uuid], 'member uuids')
  eq(info.files.map((f) => f?.defaultEffects), ['', 'resize/x800/'], 'defaultEffects')
  eq(info.files[1].isImage, true, 'member 1 isImage')
})

async function walkGroups(options, settings = REST) {
  const ids = []
  let pages = 0
  let total
  for await (const page of paginate(listOfGroups)(options, settings)) {
    pages++
    check(Number.isInteger(page.total) && Number.isInteger(page.perPage), 'total/perPage are ints')
    check(page.results.length <= options.limit, `page of ${page.results.length} > limit`)
    total ??= page.total
    ids.push(...page.results.map((g) => g.id))
    check(pages < 10_000, 'pagination does not end')
  }
  return { ids, total, pages }
}

restScenario('rest_list_groups_pages_both_orderings', async () => {
  const created = []
  for (let i = 0; i < 5; i++) created.push((await newGroup(1)).group.id)
  for (const [ordering, expected] of [
    [undefined, created],
    ['datetime_created', created],
    ['-datetime_created', [...created].reverse()]
  ]) {
    const { ids, total, pages } = await walkGroups({ limit: 2, ordering })
    const dupes = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]
    eq(dupes, [], `ordering=${ordering}: groups listed twice`)
    eq(ids.filter((id) => created.includes(id)), expected, `ordering=${ordering}: created groups in order`)
    eq(ids.length, total, `ordering=${ordering}: walked vs total`)
    check(pages >= 3, `ordering=${ordering}: only ${pages} pages for limit 2`)
  }
})

restScenario('rest_list_groups_from', async () => {
  const before = (await newGroup(1)).group
  const after = (await newGroup(1)).group
  const page = await listOfGroups({ from: new Date(before.datetimeCreated), limit: 100 }, REST)
  const ids = page.results.map((g) => g.id)
  check(ids.includes(after.id), 'a later group is listed after `from`')
})

restScenario('rest_delete_group', async () => {
  const { group, files } = await newGroup(2)
  const answer = await deleteGroup({ uuid: group.id }, REST)
  eq(answer, undefined, 'deleteGroup answer (204)')
  await expectRestError(
    () => groupInfo({ uuid: group.id }, REST),
    404,
    'Not Found',
    'Not found.',
    'groupInfo after delete'
  )
  for (const f of files) {
    const info = await fileInfo({ uuid: f.uuid }, REST)
    eq(info.datetimeRemoved, null, `member ${f.uuid} datetimeRemoved`)
  }
})

restScenario('rest_store_files', async () => {
  const a = await uploadText({ store: false })
  const b = await uploadText({ store: false })
  const answer = await storeFiles({ uuids: [a.uuid, b.uuid] }, REST)
  eq(answer.status, 'ok', 'status')
  eq(answer.problems, {}, 'problems')
  eq(answer.result.map((f) => f.uuid).sort(), [a.uuid, b.uuid].sort(), 'result uuids')
  check(answer.result.every((f) => typeof f.datetimeStored === 'string'), 'datetimeStored set')
  const info = await fileInfo({ uuid: a.uuid }, REST)
  check(typeof info.datetimeStored === 'string', 'fileInfo datetimeStored after storeFiles')
})

restScenario('rest_store_files_problems', async () => {
  const a = await uploadText({ store: false })
  const missing = randomUUID()
  const answer = await storeFiles({ uuids: [a.uuid, missing] }, REST)
  eq(answer.status, 'ok', 'status')
  eq(answer.result.map((f) => f.uuid), [a.uuid], 'result uuids')
  eq(Object.keys(answer.problems), [missing], 'problems keys')
})

restScenario('rest_delete_member_file', async () => {
  const { group, files } = await newGroup(2)
  const removed = await deleteFile({ uuid: files[0].uuid }, REST)
  check(typeof removed.datetimeRemoved === 'string', 'datetimeRemoved after deleteFile')
  const info = await groupInfo({ uuid: group.id }, REST)
  eq(info.filesCount, 2, 'filesCount')
  eq(info.files[0], null, 'deleted member is null')
  eq(info.files[1]?.uuid, files[1].uuid, 'live member')
})

restScenario('rest_simple_auth', async () => {
  const { group } = await newGroup(1)
  const info = await groupInfo({ uuid: group.id }, simpleAuth())
  eq(info.id, group.id, 'groupInfo via Simple auth')
  const page = await listOfGroups({ limit: 1 }, simpleAuth())
  check(page.total >= 1, 'listOfGroups via Simple auth')
})

restScenario('rest_error_wrong_secret', async () => {
  await expectRestError(
    () => listOfGroups({}, signedAuth(PUB_KEY, 'not-the-secret')),
    401,
    'Unauthorized',
    AUTH_DETAILS,
    'signed auth with a wrong secret'
  )
  await expectRestError(
    () => listOfGroups({}, simpleAuth(PUB_KEY, 'not-the-secret')),
    401,
    'Unauthorized',
    AUTH_DETAILS,
    'Simple auth with a wrong secret'
  )
})

restScenario('rest_error_unknown_public_key', async () => {
  await expectRestError(
    () => listOfGroups({}, signedAuth('nosuchpublickey', SECRET_KEY)),
    401,
    'Unauthorized',
    [...AUTH_DETAILS, 'Public key nosuchpublickey not found.'],
    'unknown public key'
  )
})

restScenario('rest_error_unknown_group', async () => {
  await expectRestError(
    () => groupInfo({ uuid: `${randomUUID()}~2` }, REST),
    404,
    'Not Found',
    'Not found.',
    'groupInfo of an unknown group'
  )
  await expectRestError(
    () => deleteGroup({ uuid: `${randomUUID()}~2` }, REST),
    404,
    'Not Found',
    'Not found.',
    'deleteGroup of an unknown group'
  )
})

// ------------------------------------------------------------------ tags and search

restScenario('rest_file_tags', async () => {
  const f = await UC.uploadFile(Buffer.from('tagged\n'), {
    fileName: 'tagged.txt',
    contentType: 'text/plain',
    tags: ['Cat', 'animal']
  })
  eq(await getTags({ uuid: f.uuid }, REST), { tags: ['cat', 'animal'] }, 'tags after upload')
  eq(await replaceTags({ uuid: f.uuid, tags: ['dog', 'cat'] }, REST),
    { tags: ['dog', 'cat'], added: ['dog'], deleted: ['animal'] }, 'replaceTags')
  eq(await updateTags({ uuid: f.uuid, add: ['cute'], delete: ['dog'] }, REST),
    { tags: ['cat', 'cute'], added: ['cute'], deleted: ['dog'] }, 'updateTags')
  eq((await fileInfo({ uuid: f.uuid }, REST)).tags, ['cat', 'cute'], 'tags in file info')
})

restScenario('rest_search_files', async () => {
  const marker = `srch${randomUUID().slice(0, 8)}`
  const files = []
  for (let i = 0; i < 3; i++) {
    files.push(await UC.uploadFile(Buffer.from('x'.repeat(i + 1)), {
      fileName: `${marker}-${i}.txt`,
      contentType: 'text/plain',
      tags: [marker]
    }))
  }
  const want = files.map((f) => f.uuid)
  const options = { tags: { all: [marker] }, sort: [{ field: 'size' }], limit: 2 }
  const page = await searchFiles(options, REST)
  eq(page.results.map((r) => r.uuid), want.slice(0, 2), 'first page by size')
  eq([page.total, page.perPage, page.previous], [3, 2, null], 'total, perPage, previous')
  const walked = []
  for await (const p of paginate(searchFiles)(options, REST)) {
    walked.push(...p.results.map((r) => r.uuid))
  }
  eq(walked, want, 'paginate follows next')
  const q = await searchFiles({ query: marker, sort: [{ field: 'size', order: 'desc' }] }, REST)
  eq(q.results.map((r) => r.uuid), want.slice().reverse(), 'query by name')
  eq(q.results[0].highlight.originalFilename, [`<em>${marker}</em>-2.txt`], 'highlight')
  const bad = await expectError(
    RestClientValidationError,
    () => searchFiles({ query: 'abc' }, REST),
    'a short query'
  )
  eq(bad.errors, { query: ['Ensure this field has at least 4 characters.'] }, 'short query errors')
  eq(bad.status, 400, 'short query status')
})

// ------------------------------------------------------------------ webhooks

/** A local HTTP receiver: records every POST (path, headers, raw body) and answers 200. */
async function startReceiver() {
  const got = []
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() })
      res.writeHead(200).end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, got, close: () => server.close() }
}

/** Waits until every due delivery was attempted (`POST /_emulator/webhooks/flush`). */
async function flushWebhooks() {
  const r = await fetch(`${API_URL.replace(/\/+$/, '')}/_emulator/webhooks/flush`, { method: 'POST' })
  eq(r.status, 200, 'flush')
}

restScenario('webhooks_create_list_update_delete', async () => {
  const targetUrl = `http://127.0.0.1:9/${randomUUID()}`
  const hook = await createWebhook(
    { targetUrl, event: 'file.uploaded', isActive: true, signingSecret: 'js-secret' },
    REST
  )
  eq([hook.targetUrl, hook.event, hook.isActive, hook.signingSecret, hook.version],
    [targetUrl, 'file.uploaded', true, 'js-secret', '0.7'], 'created hook')
  const listed = (await listOfWebhooks({}, REST)).filter((w) => w.id === hook.id)
  eq(listed.length, 1, 'the hook is listed')
  // A second identical subscription: DRF's validation body, read by rest-client.
  const dup = await expectError(
    RestClientValidationError,
    () => createWebhook({ targetUrl, event: 'file.uploaded' }, REST),
    'duplicate subscription'
  )
  eq(dup.errors, { nonFieldErrors: ['This project is already subscribed on this event'] }, 'duplicate errors')
  eq(dup.status, 400, 'duplicate status')
  const bad = await expectError(
    RestClientValidationError,
    () => createWebhook({ targetUrl, event: 'file.nope' }, REST),
    'unknown event'
  )
  eq(bad.errors, { event: ['"file.nope" is not a valid choice.'] }, 'unknown event errors')
  const updated = await updateWebhook({ id: hook.id, isActive: false, event: 'file.stored' }, REST)
  eq([updated.isActive, updated.event], [false, 'file.stored'], 'updated hook')
  await deleteWebhook({ targetUrl }, REST)
  const after = (await listOfWebhooks({}, REST)).filter((w) => w.id === hook.id)
  eq(after.length, 0, 'the hook is gone')
  await expectRestError(
    () => createWebhook({ event: 'file.uploaded' }, REST),
    400,
    'Bad Request',
    '`target_url` is missing.',
    'a hook without target'
  )
})

restScenario('webhooks_deliver_every_event_signed', async () => {
  const receiver = await startReceiver()
  const signingSecret = 'js-signing-secret'
  const events = ['file.uploaded', 'file.stored', 'file.info_updated', 'file.deleted']
  const hooks = []
  try {
    for (const event of events) {
      hooks.push(await createWebhook({ targetUrl: `${receiver.url}/${event}`, event, signingSecret }, REST))
    }
    const file = await uploadText({ store: false })
    await storeFile({ uuid: file.uuid }, REST)
    await updateMetadata({ uuid: file.uuid, key: 'source', value: 'js' }, REST)
    await deleteFile({ uuid: file.uuid }, REST)
    await flushWebhooks()
    const mine = receiver.got.filter((g) => JSON.parse(g.body).data.uuid === file.uuid)
    for (const g of mine) {
      const want = `v1=${createHmac('sha256', signingSecret).update(g.body).digest('hex')}`
      eq(g.headers['x-uc-signature'], want, `signature of ${g.path}`)
      eq(JSON.parse(g.body).hook.event, g.path.slice(1), 'event of the hook')
    }
    eq(mine.map((g) => g.path.slice(1)).sort(), [...events].sort(), 'events received for the file')
  } finally {
    for (const h of hooks) await deleteWebhook({ targetUrl: h.targetUrl }, REST)
    receiver.close()
  }
})

// Copies and add-ons (issue 15) -----------------------------------------------

restScenario('rest_copy_file_to_local_storage', async () => {
  const original = await uploadPng(40, 20)
  const answer = await copyFileToLocalStorage(
    { source: `${original.uuid}/-/resize/10x/`, store: true, metadata: { pet: 'cat' } },
    REST
  )
  eq(answer.type, 'file', 'type')
  check(UUID_RE.test(answer.result.uuid) && answer.result.uuid !== original.uuid, 'new uuid')
  eq(answer.result.metadata, { pet: 'cat' }, 'metadata')
  const info = await fileInfo({ uuid: answer.result.uuid }, REST)
  eq([info.contentInfo?.image?.width, info.contentInfo?.image?.height], [10, 5], 'copy size')
  check(typeof info.datetimeStored === 'string', 'copy stored')
  await expectRestError(
    () => copyFileToLocalStorage({ source: randomUUID() }, REST),
    400,
    'Bad Request',
    'Bad `source` parameter. Use UUID or CDN URL.',
    'copy of an unknown file'
  )
})

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

restScenario('rest_addon_execute_and_status', async () => {
  const f = await UC.uploadFile(Buffer.from(EICAR), {
    fileName: 'eicar.com',
    contentType: 'application/octet-stream'
  })
  const { requestId } = await executeAddon(
    { addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, target: f.uuid, params: { purge_infected: false } },
    REST
  )
  check(UUID_RE.test(requestId), 'requestId')
  const status = await addonExecutionStatus(
    { addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, requestId },
    REST
  )
  eq(status.status, AddonExecutionStatus.DONE, 'status')
  const info = await fileInfo({ uuid: f.uuid, include: 'appdata' }, REST)
  eq(info.appdata.uc_clamav_virus_scan.data, { infected: true, infected_with: 'Win.Test.EICAR_HDB-1' }, 'appdata')
  const unknown = await addonExecutionStatus(
    { addonName: AddonName.REMOVE_BG, requestId },
    REST
  )
  eq(unknown.status, AddonExecutionStatus.UNKNOWN, 'another add-on does not know the run')
})

restScenario('rest_addon_job_poller', async () => {
  const f = await uploadPng(24, 16)
  for (const addonName of [
    AddonName.AWS_REKOGNITION_DETECT_LABELS,
    AddonName.AWS_REKOGNITION_DETECT_MODERATION_LABELS,
    AddonName.REMOVE_BG
  ]) {
    const params = addonName === AddonName.REMOVE_BG ? { crop: true } : undefined
    const answer = await addonJobPoller({ addonName, target: f.uuid, params }, REST)
    eq(answer.error, false, `${addonName} finished`)
    check(typeof answer.result?.datetime_created === 'string', `${addonName} appdata`)
  }
  await expectRestError(
    () => executeAddon({ addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, target: randomUUID() }, REST),
    404,
    'Not Found',
    'Not found.',
    'unknown target'
  )
})

/** A two-page PDF whose pages say `Hello page 1` and `Hello page 2`. */
function twoPagePdf() {
  const texts = [1, 2].map((n) => `BT /F1 12 Tf 20 50 Td (Hello page ${n}) Tj ET`)
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>']
  texts.forEach((text, n) => {
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents ${4 + 2 * n} 0 R ` +
      '/Resources << /Font << /F1 7 0 R >> >> >>')
    objects.push(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`)
  })
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>')
  let pdf = '%PDF-1.4\n'
  const offsets = []
  objects.forEach((obj, i) => {
    offsets.push(pdf.length)
    pdf += `${i + 1} 0 obj\n${obj}\nendobj\n`
  })
  const xref = pdf.length
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(pdf, 'latin1')
}

/** Polls a converted file's REST info until it is ready (30 s at most). */
async function waitReady(uuid, what) {
  for (let i = 0; i < 300; i++) {
    const info = await fileInfo({ uuid }, REST)
    if (info.isReady) return info
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not ready after 30 s`)
}

restScenario('rest_convert_document', async () => {
  const pdf = await UC.uploadFile(twoPagePdf(), { fileName: 'report.pdf', contentType: 'application/pdf' })
  const info = await conversionInfo({ uuid: pdf.uuid }, REST)
  eq([info.error, info.format.name], [null, 'pdf'], 'document info')
  check(info.format.conversionFormats.some((f) => f.name === 'png'), 'png among the conversion formats')
  // A job, then its status by token.
  const answer = await convert(
    { type: ConversionType.DOCUMENT, paths: [`${pdf.uuid}/document/-/format/png/-/page/2/`], store: true },
    REST
  )
  eq(answer.problems, {}, 'problems')
  const [job] = answer.result
  check(UUID_RE.test(job.uuid) && Number.isInteger(job.token), `job ${JSON.stringify(job)}`)
  let status
  for (let i = 0; i < 300; i++) {
    status = await conversionJobStatus({ type: ConversionType.DOCUMENT, token: job.token }, REST)
    if (![ConversionStatus.PENDING, ConversionStatus.PROCESSING].includes(status.status)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  eq([status.status, status.result?.uuid], [ConversionStatus.FINISHED, job.uuid], 'job status')
  const page = await waitReady(job.uuid, 'png page')
  eq([page.mimeType, page.originalFilename], ['image/png', 'report-2.png'], 'converted page')
  // The poller, and a path the converter cannot take (its problem names it).
  const [polled] = await conversionJobPoller(
    { type: ConversionType.DOCUMENT, paths: [`${pdf.uuid}/document/-/format/txt/`] },
    REST
  )
  const done = await polled
  eq(done.status, ConversionStatus.FINISHED, 'poller status')
  const text = await (await fetch(`${CDN_URL}/${done.result.uuid}/`)).text()
  check(text.includes('Hello page 2'), `pdftotext output ${text.slice(0, 60)}`)
  const bad = await convert(
    { type: ConversionType.DOCUMENT, paths: [`${pdf.uuid}/document/-/format/pdf/-/page/1/`] },
    REST
  )
  eq(bad.result, [], 'no job for a bad path')
  check(Object.values(bad.problems).some((p) => String(p).includes('page operation')), JSON.stringify(bad.problems))
})

restScenario('rest_convert_video', async () => {
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, readFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const out = join(mkdtempSync(join(tmpdir(), 'uc-js-video-')), 'clip.mp4')
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x48:rate=10',
    '-pix_fmt', 'yuv420p', out])
  const clip = await UC.uploadFile(readFileSync(out), { fileName: 'clip.mp4', contentType: 'video/mp4' })
  const [job] = await conversionJobPoller(
    { type: ConversionType.VIDEO, paths: [`${clip.uuid}/video/-/format/webm/-/thumbs~2/`], store: true },
    REST
  )
  const done = await job
  eq(done.status, ConversionStatus.FINISHED, 'video job status')
  check(GROUP_ID_RE.test(done.result.thumbnailsGroupUuid), `thumbnails group ${done.result.thumbnailsGroupUuid}`)
  const video = await waitReady(done.result.uuid, 'webm')
  eq(video.mimeType, 'video/webm', 'converted video type')
  const thumbs = await groupInfo({ uuid: done.result.thumbnailsGroupUuid }, REST)
  eq(thumbs.filesCount, 2, 'thumbnails')
})

restScenario('rest_copy_file_to_remote_storage', async () => {
  const f = await uploadPng(20, 10)
  const answer = await copyFileToRemoteStorage(
    { source: `${f.uuid}/-/resize/10x/`, target: 'sdktarget', makePublic: false, pattern: '${uuid}${ext}' },
    REST
  )
  eq(answer, { type: 'url', result: `s3://sdkbucket/${f.uuid}.png` }, 'remote copy')
  await expectRestError(
    () => copyFileToRemoteStorage({ source: f.uuid, target: 'nope' }, REST),
    400,
    'Bad Request',
    'Project has no storage with provided name.',
    'unknown storage'
  )
})

// ------------------------------------------------------------------ runner

function describe(e, rest) {
  let reason = e instanceof Failure ? e.message : `${e?.constructor?.name}: ${e?.message}`
  reason = String(reason).replace(/\s+/g, ' ')
  if (reason.length > 400) reason = `${reason.slice(0, 400)}…`
  if (rest) {
    const cause = e instanceof RestClientError ? e : e?.cause
    if (cause instanceof RestClientError && cause.status === 404 && !cause.response?.headers?.get('content-type')) {
      reason = `REST endpoint missing? (404 without a body): ${reason}`
    }
    reason = `[needs REST API] ${reason}`
  }
  return reason
}

function withTimeout(promise, ms) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function main() {
  const only = new Set(process.argv.slice(2))
  // UC_SDK_SKIP: comma-separated scenarios not to run (tests/replicas/run.sh).
  const skip = new Set((process.env.UC_SDK_SKIP ?? '').split(',').filter(Boolean))
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const { name, fn, rest } of SCENARIOS) {
    if (only.size && !only.has(name)) continue
    if (skip.has(name)) {
      skipped++
      console.log(`skip ${name}`)
      continue
    }
    try {
      await withTimeout(fn(), SCENARIO_TIMEOUT_MS)
      passed++
      console.log(`ok ${name}`)
    } catch (e) {
      failed++
      console.log(`FAIL ${name}: ${describe(e, rest)}`)
      if (process.env.UC_SDK_VERBOSE) console.error(e)
    }
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
  return failed ? 1 : 0
}

process.exit(await main())
