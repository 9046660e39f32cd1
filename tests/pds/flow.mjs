// A group chat through a real PDS with @atproto/api, as a Bluesky client runs it: log in to the
// PDS, proxy chat calls to the mock (atproto-proxy: CHAT_DID#bsky_chat), follow with a real
// record, and poll getLog for what the other member did.
// Env: PDS_URL, CHAT_DID, ALICE and BOB ("handle password"). Run by test_through_pds.py.
import { load } from './deps.mjs'

const { AtpAgent, ChatBskyGroupRequestJoin } = await load('@atproto/api')

const { PDS_URL, CHAT_DID } = process.env
const count = { passed: 0, failed: 0 }
function check(name, ok, detail = '') {
  ok ? count.passed++ : count.failed++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`)
}
async function login(who) {
  const [identifier, password] = who.split(' ')
  const agent = new AtpAgent({ service: PDS_URL })
  await agent.login({ identifier, password })
  return { agent, chat: agent.withProxy('bsky_chat', CHAT_DID), did: agent.session.did }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const alice = await login(process.env.ALICE)
const bob = await login(process.env.BOB)

const created = await alice.chat.chat.bsky.group.createGroup({ name: 'Via the PDS', members: [] })
const convoId = created.data.convo.id
check('createGroup through the PDS', created.data.convo.kind?.name === 'Via the PDS', JSON.stringify(created.data.convo.kind))

const link = await alice.chat.chat.bsky.group.createJoinLink({ convoId, joinRule: 'followedByOwner' })
const code = link.data.joinLink.code
try {
  await bob.chat.chat.bsky.group.requestJoin({ code })
  check('requestJoin before the follow is refused', false, 'did not fail')
} catch (e) {
  check('requestJoin before the follow is refused', e instanceof ChatBskyGroupRequestJoin.FollowRequiredError, `${e?.error}`)
}

await alice.agent.follow(bob.did) // a record in alice's repository; the mock reads it from the firehose
let joined = null
for (let i = 0; i < 100 && !joined; i++) {
  try {
    joined = (await bob.chat.chat.bsky.group.requestJoin({ code })).data
  } catch (e) {
    if (!(e instanceof ChatBskyGroupRequestJoin.FollowRequiredError)) throw e
    await sleep(100)
  }
}
check('requestJoin after a real follow record joins', joined?.status === 'joined', JSON.stringify(joined))

const head = (await alice.chat.chat.bsky.convo.getLog({})).data.cursor
await bob.chat.chat.bsky.convo.sendMessage({ convoId, message: { text: 'hi from node' } })
const log = (await alice.chat.chat.bsky.convo.getLog({ cursor: head })).data
const texts = log.logs.filter((e) => e.$type === 'chat.bsky.convo.defs#logCreateMessage').map((e) => e.message.text)
check("alice's getLog poll sees bob's message", JSON.stringify(texts) === '["hi from node"]', JSON.stringify(log.logs.map((e) => e.$type)))
check('the cursor moves on', log.cursor > head, `${head} -> ${log.cursor}`)

const members = (await alice.chat.chat.bsky.convo.getConvo({ convoId })).data.convo.members.map((m) => m.did).sort()
check('both are members', JSON.stringify(members) === JSON.stringify([alice.did, bob.did].sort()), JSON.stringify(members))

console.log(`${count.passed} passed, ${count.failed} failed`)
process.exit(count.failed === 0 ? 0 : 1)
