// Walks a group life with @atproto/api against a running bsky-chat-mock and checks that the
// typed errors are the right classes. Usage: node check.mjs http://127.0.0.1:PORT
import { ChatBskyConvoSendMessage, ChatBskyGroupRequestJoin, ChatBskyConvoLeaveConvo } from '@atproto/api'
import { admin, chatAs, check, done, refused } from './lib.mjs'

await admin('POST', 'reset')
const [alice, bob, carol] = await Promise.all(
  ['ts-alice', 'ts-bob', 'ts-carol'].map((h) => admin('POST', 'actors', { handle: `${h}.test`, password: 'pw' })),
)
const a = await chatAs('ts-alice.test')
const c = await chatAs('ts-carol.test')

const created = await a.chat.bsky.group.createGroup({ name: 'TS group', members: [bob.did] })
const convoId = created.data.convo.id
check('createGroup answers a group convo view', created.data.convo.kind?.$type === 'chat.bsky.convo.defs#groupConvo')

const link = await a.chat.bsky.group.createJoinLink({ convoId, joinRule: 'anyone', requireApproval: true })
check('createJoinLink', link.data.joinLink.requireApproval === true)

const previews = await c.chat.bsky.group.getJoinLinkPreviews({ codes: [link.data.joinLink.code, 'nope'] })
check(
  'getJoinLinkPreviews has one typed preview per code',
  previews.data.joinLinkPreviews.map((p) => p.$type).join() ===
    'chat.bsky.group.defs#joinLinkPreviewView,chat.bsky.group.defs#invalidJoinLinkPreviewView',
)

const asked = await c.chat.bsky.group.requestJoin({ code: link.data.joinLink.code })
check('requestJoin needs approval', asked.data.status === 'pending')
await refused('unknown code is InvalidCodeError', c.chat.bsky.group.requestJoin({ code: 'nope' }), ChatBskyGroupRequestJoin.InvalidCodeError)

const requests = await a.chat.bsky.group.listJoinRequests({ convoId })
check('listJoinRequests shows carol', requests.data.requests[0]?.requestedBy.did === carol.did)
await a.chat.bsky.group.approveJoinRequest({ convoId, member: carol.did })
const seen = await c.chat.bsky.convo.getConvo({ convoId })
check('approved member sees the group', seen.data.convo.kind?.memberCount === 3)

const sent = await c.chat.bsky.convo.sendMessage({ convoId, message: { text: 'hello from TypeScript' } })
check('sendMessage', sent.data.text === 'hello from TypeScript')
const messages = await a.chat.bsky.convo.getMessages({ convoId })
check('getMessages parses (system messages included)', messages.data.messages.length >= 3)
const log = await a.chat.bsky.convo.getLog({ cursor: '' })
check('getLog from the start parses', log.data.logs.some((l) => l.$type === 'chat.bsky.convo.defs#logApproveJoinRequest'))

await refused('owner cannot leave unlocked: OwnerCannotLeaveError', a.chat.bsky.convo.leaveConvo({ convoId }), ChatBskyConvoLeaveConvo.OwnerCannotLeaveError)
await a.chat.bsky.convo.lockConvo({ convoId })
await refused(
  'send to a locked group is ConvoLockedError',
  c.chat.bsky.convo.sendMessage({ convoId, message: { text: 'locked?' } }),
  ChatBskyConvoSendMessage.ConvoLockedError,
)
const locked = await c.chat.bsky.convo.getConvo({ convoId })
check('lockStatus is locked', locked.data.convo.kind?.lockStatus === 'locked')

done()
