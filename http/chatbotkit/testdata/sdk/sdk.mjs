// Drives every space and space-storage call of the official ChatBotKit
// SDK against a Shelf server, set up with nothing but baseUrl and secret,
// and checks the answers, the bytes and the listings. Run by
// http/chatbotkit/sdk_test.go with SHELF_URL, SHELF_KEY, FILE_URL (a file
// the server may fetch) and FOREIGN_SPACE (a space of another workspace).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'

import { ChatBotKit } from '@chatbotkit/sdk'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set`)
  return v
}

const cbk = new ChatBotKit({ baseUrl: env('SHELF_URL'), secret: env('SHELF_KEY') })
const sha = (buf) => createHash('sha256').update(buf).digest('hex')
const b64 = (s) => Buffer.from(s).toString('base64')

// rejects asserts that p fails with the SDK's error of the given code.
async function rejects(p, code, what) {
  await assert.rejects(p, (err) => {
    assert.equal(err.code, code, `${what}: code ${err.code} (${err.message})`)
    return true
  }, what)
}

async function downloadBytes(spaceId, path) {
  const link = await cbk.space.storage.download(spaceId, path)
  assert.equal(link.id, Buffer.from(path).toString('base64'), `download id of ${path}`)
  assert.match(link.url, /^https?:\/\//, 'download url')
  const res = await fetch(link.url) // no Authorization: the link is signed
  assert.equal(res.status, 200, `GET of the download link of ${path}`)
  return Buffer.from(await res.arrayBuffer())
}

async function listAll(spaceId, path, recursive) {
  const res = await cbk.space.storage.list(spaceId, path, recursive ? { recursive: true } : undefined)
  assert.ok(Array.isArray(res.items), 'list items')
  return res.items.map((i) => `${i.path}${i.isDirectory ? '/' : ''}:${i.size}`).sort()
}

// --- spaces ---

const made = []
const { id: spaceId } = await cbk.space.create({
  name: 'Docs', description: 'Team documents', alias: 'team-docs', meta: { team: 'support', n: 1 }, contactId: 'contact-7',
})
assert.ok(spaceId, 'create returns an id')
made.push(spaceId)
for (const name of ['A', 'B', 'C']) {
  const { id } = await cbk.space.create({ name, meta: { team: 'sales' } })
  made.push(id)
}

let s = await cbk.space.fetch(spaceId)
assert.equal(s.id, spaceId)
assert.equal(s.name, 'Docs')
assert.equal(s.description, 'Team documents')
assert.equal(s.alias, 'team-docs')
assert.deepEqual(s.meta, { team: 'support', n: 1 })
assert.equal(typeof s.createdAt, 'number')
assert.equal(typeof s.updatedAt, 'number')
assert.equal((await cbk.space.fetch('team-docs')).id, spaceId, 'fetch by alias')

// Pages of two, newest first, until the cursor runs out.
const seen = []
let cursor
for (let i = 0; i < 10; i++) {
  const page = await cbk.space.list({ take: 2, ...(cursor ? { cursor } : {}) })
  seen.push(...page.items.map((x) => x.id))
  if (page.items.length < 2) break
  cursor = page.cursor
  assert.equal(cursor, page.items[1].id, 'the cursor is the last id')
}
assert.deepEqual(seen, [...made].reverse(), 'paged list, newest first')
const asc = await cbk.space.list({ order: 'asc' })
assert.deepEqual(asc.items.map((x) => x.id), made, 'list in ascending order')
const support = await cbk.space.list({ meta: { team: 'support' } })
assert.deepEqual(support.items.map((x) => x.id), [spaceId], 'meta filter')

// A contact's spaces.
const byContact = await cbk.contact.space.list('contact-7')
assert.deepEqual(byContact.items.map((x) => x.id), [spaceId], "the contact's spaces")
assert.deepEqual((await cbk.contact.space.list('nobody')).items, [], "nobody's spaces")

const streamed = []
for await (const ev of cbk.space.list({ order: 'asc' }).stream()) {
  if (ev.type === 'item') streamed.push(ev.data.id)
}
assert.deepEqual(streamed, made, 'streamed list')

assert.deepEqual(await cbk.space.update(spaceId, { name: 'Docs 2', meta: { n: null, extra: 'x' } }), { id: spaceId })
s = await cbk.space.fetch(spaceId)
assert.equal(s.name, 'Docs 2')
assert.equal(s.description, 'Team documents', 'update leaves omitted fields')
assert.deepEqual(s.meta, { team: 'support', extra: 'x' }, 'meta is merged, null removes')

await rejects(cbk.space.fetch(env('FOREIGN_SPACE')), 'NOT_FOUND', "another workspace's space")
await rejects(cbk.space.create({ alias: 'team-docs' }), 'CONFLICT', 'a taken alias')

// --- storage ---

const st = cbk.space.storage
let up = await st.upload(spaceId, 'notes/hello.txt', { file: 'data:text/plain;base64,' + b64('hello world') })
assert.deepEqual(up, { id: Buffer.from('notes/hello.txt').toString('base64'), path: 'notes/hello.txt' })
up = await st.upload(spaceId, 'web/page.html', { file: env('FILE_URL') })
assert.equal(up.path, 'web/page.html')
assert.equal((await downloadBytes(spaceId, 'web/page.html')).toString(), '<h1>fetched</h1>')

// Two-stage: the server answers a PUT URL that takes exactly size bytes, once.
const big = Buffer.alloc(300 * 1024)
for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + 13) & 0xff
up = await st.upload(spaceId, 'big/blob.bin', {
  file: { type: 'application/octet-stream', size: big.length, meta: { description: 'a blob' } },
})
assert.equal(up.path, 'big/blob.bin')
assert.equal(up.uploadRequest.method, 'PUT')
assert.equal(up.uploadRequest.headers['Content-Length'], String(big.length))
const { 'Content-Length': _len, ...putHeaders } = up.uploadRequest.headers
let res = await fetch(up.uploadRequest.url, { method: 'PUT', headers: putHeaders, body: big })
assert.equal(res.status, 200, `two-stage PUT: ${await res.text()}`)
res = await fetch(up.uploadRequest.url, { method: 'PUT', headers: putHeaders, body: big })
assert.equal(res.status, 409, 'a second PUT to the same URL')
assert.equal(sha(await downloadBytes(spaceId, 'big/blob.bin')), sha(big), 'two-stage bytes')

assert.deepEqual(await listAll(spaceId), ['big/:0', 'notes/:0', 'web/:0'], 'root listing')
assert.deepEqual(await listAll(spaceId, 'notes'), ['hello.txt:11'], 'one directory')
assert.deepEqual(await listAll(spaceId, 'notes/'), ['hello.txt:11'], 'one directory, with a trailing slash')
assert.deepEqual(await listAll(spaceId, undefined, true),
  [`big/blob.bin:${big.length}`, 'notes/hello.txt:11', 'web/page.html:16'], 'recursive listing')
await rejects(st.list(spaceId, 'missing'), 'NOT_FOUND', 'listing a missing directory')

assert.equal((await downloadBytes(spaceId, 'notes/hello.txt')).toString(), 'hello world')

assert.deepEqual(await st.copy(spaceId, 'notes/hello.txt', { destinationPath: 'notes/copy.txt' }), { path: 'notes/copy.txt' })
assert.equal((await downloadBytes(spaceId, 'notes/copy.txt')).toString(), 'hello world')
assert.deepEqual(await st.move(spaceId, 'notes/copy.txt', { destinationPath: 'archive/moved.txt' }), { path: 'archive/moved.txt' })
assert.equal((await downloadBytes(spaceId, 'archive/moved.txt')).toString(), 'hello world')
await rejects(st.download(spaceId, 'notes/copy.txt'), 'NOT_FOUND', 'a moved file is gone from its old path')

// Uploading to an existing path overwrites it; to a directory is refused.
await st.upload(spaceId, 'notes/hello.txt', { file: 'data:text/plain;base64,' + b64('hello again') })
assert.equal((await downloadBytes(spaceId, 'notes/hello.txt')).toString(), 'hello again')
await rejects(st.upload(spaceId, 'notes', { file: 'data:text/plain;base64,' + b64('x') }), 'BAD_REQUEST', 'upload onto a directory')

assert.deepEqual(await st.delete(spaceId, 'notes/hello.txt'), { path: 'notes/hello.txt' })
await rejects(st.delete(spaceId, 'archive'), 'NOT_FOUND', 'deleting a directory without recursive')
assert.deepEqual(await st.delete(spaceId, 'archive', { recursive: true }), { path: 'archive' })
assert.deepEqual(await listAll(spaceId, undefined, true),
  [`big/blob.bin:${big.length}`, 'web/page.html:16'], 'recursive listing after deletes')

// --- delete the spaces ---

for (const id of made) {
  assert.deepEqual(await cbk.space.delete(id), { id })
}
await rejects(cbk.space.fetch(spaceId), 'NOT_FOUND', 'a deleted space')
await rejects(st.list(spaceId), 'NOT_FOUND', "a deleted space's storage")
assert.deepEqual((await cbk.space.list()).items, [], 'no spaces left')
console.log('ok')
