// CDN bytes and REST info through @uploadcare/upload-client and @uploadcare/rest-client, for
// tests/docker/e2e.sh: uploads random bytes, reads them from the CDN of every base URL given
// (each emulator replica) and reads the file's REST info from each.
//
// Environment: as tests/sdk/js/scenarios.mjs (UC_UPLOAD_URL, UC_API_URL, UC_CDN_URL,
// UC_PUB_KEY, UC_SECRET_KEY), plus UC_SDK_JS_DIR (tests/sdk/js, whose node_modules hold the
// clients) and UC_OTHER_BASE_URLS, space-separated base URLs of other replicas (optional).

import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(join(process.env.UC_SDK_JS_DIR, 'package.json'))
const { UploadClient, uploadFile } = require('@uploadcare/upload-client')
const { fileInfo, UploadcareAuthSchema } = require('@uploadcare/rest-client')

const trim = (url) => url.replace(/\/+$/, '')
const UPLOAD_URL = trim(process.env.UC_UPLOAD_URL)
const API_URL = trim(process.env.UC_API_URL)
const CDN_URL = trim(process.env.UC_CDN_URL)
const OTHERS = (process.env.UC_OTHER_BASE_URLS ?? '').split(/\s+/).filter(Boolean).map(trim)
const publicKey = process.env.UC_PUB_KEY
const secretKey = process.env.UC_SECRET_KEY

let failures = 0
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAIL'} ${what}`)
  if (!ok) failures++
}

const data = randomBytes(70_000)
const client = new UploadClient({ publicKey, baseURL: UPLOAD_URL, baseCDN: CDN_URL })
const file = await client.uploadFile(data, { fileName: 'bytes.bin', contentType: 'application/octet-stream' })
check(file.cdnUrl === `${CDN_URL}/${file.uuid}/`, `cdnUrl ${file.cdnUrl} is on baseCDN`)

// Without baseCDN the links point at production (README, "Docker"): the UploadClient class
// uses https://ucarecdn.com, the uploadFile function a per-project https://<prefix>.ucarecd.net.
const byClass = await new UploadClient({ publicKey, baseURL: UPLOAD_URL }).uploadFile(file.uuid)
check(byClass.cdnUrl.startsWith('https://ucarecdn.com/'), `UploadClient default cdnUrl ${byClass.cdnUrl}`)
const byFunction = await uploadFile(file.uuid, { publicKey, baseURL: UPLOAD_URL })
check(
  /^https:\/\/[0-9a-z]{10}\.ucarecd\.net\//.test(byFunction.cdnUrl),
  `uploadFile default cdnUrl ${byFunction.cdnUrl}`
)

for (const base of [{ cdn: CDN_URL, api: API_URL }, ...OTHERS.map((o) => ({ cdn: o, api: o }))]) {
  const answer = await fetch(`${base.cdn}/${file.uuid}/`)
  const body = Buffer.from(await answer.arrayBuffer())
  check(answer.status === 200 && body.equals(data), `CDN bytes of ${file.uuid} from ${base.cdn} (${body.length} bytes)`)
  const info = await fileInfo(
    { uuid: file.uuid },
    { apiBaseURL: base.api, authSchema: new UploadcareAuthSchema({ publicKey, secretKey }) }
  )
  check(info.size === data.length, `REST info from ${base.api}: size ${info.size}`)
}

console.log(`${failures ? 'FAIL' : 'ok'} JS clients CDN bytes: ${failures} failed`)
process.exit(failures ? 1 : 0)
