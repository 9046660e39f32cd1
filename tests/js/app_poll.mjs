// Reads the mock the way the official Bluesky app does (bluesky-social/social-app,
// src/state/messages/events/agent.ts and convo/agent.ts), with @atproto/api:
// getLog({}) once for the cursor, then polls with the highest rev seen, comparing revs as text;
// history seeded with an event's rev; $type on every message; join link embeds per viewer; the
// error texts the app matches on. Usage: node app_poll.mjs http://127.0.0.1:PORT
import { DEFS, admin, chatAs, check, done } from './lib.mjs'

// MessagesEventBus: init() then poll()
class Bus {
  constructor(agent) {
    this.agent = agent
    this.latestRev = undefined
    this.seen = []
  }
  async init() {
    const { data } = await this.agent.chat.bsky.convo.getLog({})
    // "should always be defined"
    if (data.cursor) this.latestRev = data.cursor
    return data
  }
  async poll() {
    const { data } = await this.agent.chat.bsky.convo.getLog({ cursor: this.latestRev })
    const batch = []
    for (const ev of data.logs) {
      if (typeof ev.rev === 'string' && ev.rev > (this.latestRev = this.latestRev || ev.rev)) {
        this.latestRev = ev.rev
        batch.push(ev)
      }
    }
    this.seen.push(...batch)
    return batch.map((ev) => ev.$type.split('#')[1])
  }
}

await admin('POST', 'reset')
const [alice, bob, carol] = await Promise.all(
  ['app-alice', 'app-bob', 'app-carol'].map((h) => admin('POST', 'actors', { handle: `${h}.test`, password: 'pw' })),
)
const a = await chatAs('app-alice.test')
const b = await chatAs('app-bob.test')
const c = await chatAs('app-carol.test')
const buses = [new Bus(a), new Bus(b), new Bus(c)]
for (const bus of buses) {
  const first = await bus.init()
  check('getLog({}) answers no events and a cursor', first.logs.length === 0 && typeof first.cursor === 'string' && first.cursor.length > 0)
}
const pollAll = async () => Promise.all(buses.map((bus) => bus.poll()))
const same = (x, y) => JSON.stringify(x) === JSON.stringify(y)

const convoId = (await a.chat.bsky.group.createGroup({ name: 'App', members: [bob.did] })).data.convo.id
let got = await pollAll()
check('createGroup reaches both members', same(got, [['logBeginConvo'], ['logBeginConvo'], []]), JSON.stringify(got))

const hi = await b.chat.bsky.convo.sendMessage({ convoId, message: { text: 'hi' } })
got = await pollAll()
check('a message reaches both, the accept only the sender', same(got, [['logCreateMessage'], ['logAcceptConvo', 'logCreateMessage'], []]), JSON.stringify(got))

await a.chat.bsky.group.addMembers({ convoId, members: [carol.did] })
await a.chat.bsky.group.editGroup({ convoId, name: 'App 2' })
got = await pollAll()
check(
  'added member and rename, per viewer',
  same(got, [['logAddMember', 'logEditGroup'], ['logAddMember', 'logEditGroup'], ['logBeginConvo', 'logAddMember', 'logEditGroup']]),
  JSON.stringify(got),
)

await b.chat.bsky.convo.muteConvo({ convoId })
const aliceView = (await a.chat.bsky.convo.getConvo({ convoId })).data.convo
got = await pollAll()
check('a mute is Bob\'s alone', same(got, [[], ['logMuteConvo'], []]), JSON.stringify(got))
check('and does not move Alice\'s convo rev', (await a.chat.bsky.convo.getConvo({ convoId })).data.convo.rev === aliceView.rev)

await a.chat.bsky.convo.lockConvo({ convoId })
got = await pollAll()
check('a lock reaches everyone', same(got, [['logLockConvo'], ['logLockConvo'], ['logLockConvo']]), JSON.stringify(got))
got = await pollAll()
check('nothing new: empty polls', same(got, [[], [], []]))

const systemEvents = buses[2].seen.filter((ev) => ev.message)
check(
  'every message in the log carries its $type (isSystemMessageView / isMessageView)',
  buses.every((bus) => bus.seen.every((ev) => !ev.message || [DEFS + 'messageView', DEFS + 'systemMessageView'].includes(ev.message.$type))) &&
    systemEvents.length > 0,
)

// history seeded with an event rev (convo/agent.ts: oldestRev = ev.rev)
await a.chat.bsky.convo.unlockConvo({ convoId })
for (const text of ['one', 'two', 'three', 'four']) await a.chat.bsky.convo.sendMessage({ convoId, message: { text } })
await buses[1].poll()
let oldestRev = buses[1].seen[buses[1].seen.length - 1].rev
const history = []
for (let i = 0; i < 20 && oldestRev !== null; i++) {
  const { data } = await b.chat.bsky.convo.getMessages({ convoId, cursor: oldestRev, limit: 2 })
  history.push(...data.messages)
  oldestRev = data.cursor ?? null
}
const texts = history.filter((m) => m.$type === DEFS + 'messageView').map((m) => m.text)
check('history from an event rev pages back to the start', same(texts, ['three', 'two', 'one', 'hi']), JSON.stringify(texts))

// join link embed rendered for the viewer
const code = (await a.chat.bsky.group.createJoinLink({ convoId, joinRule: 'anyone' })).data.joinLink.code
const other = (await b.chat.bsky.group.createGroup({ name: 'Elsewhere', members: [carol.did] })).data.convo.id
await b.chat.bsky.convo.sendMessage({ convoId: other, message: { text: 'join', embed: { $type: 'chat.bsky.embed.joinLink', code } } })
const embed = (await c.chat.bsky.convo.getConvo({ convoId: other })).data.convo.lastMessage.embed
check('a member sees their own group in the embed', embed.$type === 'chat.bsky.embed.joinLink#view' && embed.joinLinkPreview.convo?.id === convoId)

// the texts the app matches on
try {
  await a.chat.bsky.convo.sendMessage({ convoId: 'nope', message: { text: 'x' } })
  check('unknown convo is refused', false)
} catch (e) {
  check("unknown convo: message is exactly 'Convo not found'", e.message === 'Convo not found', e.message)
}
await admin('PATCH', `actors/${carol.did}`, { status: 'suspended' })
try {
  await c.chat.bsky.convo.sendMessage({ convoId, message: { text: 'x' } })
  check('a suspended account cannot send', false)
} catch (e) {
  check("suspended sender: message is exactly 'Account is disabled'", e.message === 'Account is disabled', e.message)
}

done()
