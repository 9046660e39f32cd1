// Walks a direct (1:1) chat with @atproto/api against a running bsky-chat-mock, as a chat client
// does: availability, the one convo per pair, the request the recipient sees after the first
// message, batches, deleting for oneself, the typed errors of getConvoForMembers and addReaction,
// the send-time texts the app matches on, getStatus and the notification preferences.
// Usage: node direct_flow.mjs http://127.0.0.1:PORT
import { ChatBskyConvoAddReaction, ChatBskyConvoGetConvoForMembers } from '@atproto/api'
import { DEFS, admin, chatAs, check, done, refused, refusedWithText } from './lib.mjs'

const same = (x, y) => JSON.stringify(x) === JSON.stringify(y)
const ids = (convos) => convos.map((c) => c.id)

await admin('POST', 'reset')
const [alice, bob, carol, dan, erin, frank, gus] = await Promise.all(
  ['dm-alice', 'dm-bob', 'dm-carol', 'dm-dan', 'dm-erin', 'dm-frank', 'dm-gus'].map((h) =>
    admin('POST', 'actors', { handle: `${h}.test`, password: 'pw' }),
  ),
)
const a = await chatAs('dm-alice.test')
const b = await chatAs('dm-bob.test')

// availability before anything exists
let avail = (await a.chat.bsky.convo.getConvoAvailability({ members: [bob.did] })).data
check('getConvoAvailability: canChat, no convo yet', avail.canChat === true && avail.convo === undefined, JSON.stringify(avail))

// one convo per pair, whoever asks
const made = (await a.chat.bsky.convo.getConvoForMembers({ members: [bob.did] })).data.convo
const convoId = made.id
check('getConvoForMembers answers a direct convo view', made.kind?.$type === DEFS + 'directConvo', JSON.stringify(made.kind))
check(
  'its members are the two accounts',
  same(made.members.map((m) => m.did).sort(), [alice.did, bob.did].sort()),
  JSON.stringify(made.members.map((m) => m.did)),
)
check('the caller has accepted it', made.status === 'accepted', made.status)
const again = (await a.chat.bsky.convo.getConvoForMembers({ members: [bob.did, alice.did] })).data.convo
check('asking again (the caller in members too) answers the same convo', again.id === convoId)
const fromBob = (await b.chat.bsky.convo.getConvoForMembers({ members: [alice.did] })).data.convo
check('the other side gets the same convo', fromBob.id === convoId, `${fromBob.id} vs ${convoId}`)
avail = (await b.chat.bsky.convo.getConvoAvailability({ members: [alice.did] })).data
check('getConvoAvailability now answers that convo', avail.canChat === true && avail.convo?.id === convoId, JSON.stringify(avail))

// the recipient sees a request only once a message has come
let requests = (await b.chat.bsky.convo.listConvoRequests({})).data.requests
let asRequest = (await b.chat.bsky.convo.listConvos({ status: 'request' })).data.convos
check('no message yet: no request for the recipient', !ids(requests).includes(convoId) && !ids(asRequest).includes(convoId))
const hello = (await a.chat.bsky.convo.sendMessage({ convoId, message: { text: 'hello bob' } })).data
check('sendMessage into the direct convo', hello.text === 'hello bob' && hello.$type === DEFS + 'messageView')
requests = (await b.chat.bsky.convo.listConvoRequests({})).data.requests
asRequest = (await b.chat.bsky.convo.listConvos({ status: 'request' })).data.convos
check('after the first message: listConvoRequests has it', same(ids(requests), [convoId]), JSON.stringify(ids(requests)))
check("after the first message: listConvos({status:'request'}) has it", same(ids(asRequest), [convoId]), JSON.stringify(ids(asRequest)))
let accepted = (await b.chat.bsky.convo.listConvos({ status: 'accepted' })).data.convos
check("and listConvos({status:'accepted'}) does not", !ids(accepted).includes(convoId))
const directOnly = (await b.chat.bsky.convo.listConvos({ kind: 'direct' })).data.convos
check("listConvos({kind:'direct'}) has it", ids(directOnly).includes(convoId), JSON.stringify(ids(directOnly)))
const unread = (await b.chat.bsky.convo.getUnreadCounts({ includeGroupChats: false })).data
check(
  'getUnreadCounts({includeGroupChats:false}) counts it as an unread request',
  unread.unreadRequestConvos === 1 && unread.unreadAcceptedConvos === 0,
  JSON.stringify(unread),
)

// the recipient accepts
await b.chat.bsky.convo.acceptConvo({ convoId })
requests = (await b.chat.bsky.convo.listConvoRequests({})).data.requests
accepted = (await b.chat.bsky.convo.listConvos({ status: 'accepted' })).data.convos
check('acceptConvo: no longer a request', !ids(requests).includes(convoId) && ids(accepted).includes(convoId))
check('acceptConvo: getConvo says accepted', (await b.chat.bsky.convo.getConvo({ convoId })).data.convo.status === 'accepted')

// a batch, in order
const batch = (
  await a.chat.bsky.convo.sendMessageBatch({
    items: ['one', 'two', 'three'].map((text) => ({ convoId, message: { text } })),
  })
).data.items
check('sendMessageBatch answers the items in order', same(batch.map((m) => m.text), ['one', 'two', 'three']), JSON.stringify(batch.map((m) => m.text)))
let bobsMessages = (await b.chat.bsky.convo.getMessages({ convoId })).data.messages
check(
  'getMessages shows them newest first, no system messages',
  same(bobsMessages.map((m) => m.text), ['three', 'two', 'one', 'hello bob']) && bobsMessages.every((m) => m.$type === DEFS + 'messageView'),
  JSON.stringify(bobsMessages.map((m) => [m.$type, m.text])),
)

// delete for oneself
const two = batch[1]
const deleted = (await b.chat.bsky.convo.deleteMessageForSelf({ convoId, messageId: two.id })).data
check('deleteMessageForSelf answers a deletedMessageView', deleted.$type === DEFS + 'deletedMessageView' && deleted.id === two.id, JSON.stringify(deleted))
bobsMessages = (await b.chat.bsky.convo.getMessages({ convoId })).data.messages
check('the deleter no longer sees it', !bobsMessages.some((m) => m.id === two.id))
const alicesMessages = (await a.chat.bsky.convo.getMessages({ convoId })).data.messages
check('the other side still sees it', alicesMessages.some((m) => m.id === two.id && m.text === 'two'))
const deletedAgain = (await b.chat.bsky.convo.deleteMessageForSelf({ convoId, messageId: two.id })).data
check('deleting it again answers the same view', same(deletedAgain, deleted))
await refused(
  'addReaction on a message deleted for oneself is ReactionMessageDeletedError',
  b.chat.bsky.convo.addReaction({ convoId, messageId: two.id, value: '👍' }),
  ChatBskyConvoAddReaction.ReactionMessageDeletedError,
)
const reacted = (await a.chat.bsky.convo.addReaction({ convoId, messageId: two.id, value: '👍' })).data.message
check('the other side can still react to it', reacted.reactions?.some((r) => r.value === '👍'))

// getConvoForMembers refused, with the typed error classes
await admin('PATCH', `actors/${carol.handle}`, { blocks: [alice.did] })
await refused(
  'they block the caller: BlockedActorError',
  a.chat.bsky.convo.getConvoForMembers({ members: [carol.did] }),
  ChatBskyConvoGetConvoForMembers.BlockedActorError,
)
await admin('PATCH', `actors/${dan.handle}`, { allowIncoming: 'none' })
await refused(
  'allowIncoming none: MessagesDisabledError',
  a.chat.bsky.convo.getConvoForMembers({ members: [dan.did] }),
  ChatBskyConvoGetConvoForMembers.MessagesDisabledError,
)
await admin('PATCH', `actors/${erin.handle}`, { allowIncoming: 'following', follows: [] })
await refused(
  'allowIncoming following, not followed: NotFollowedBySenderError',
  a.chat.bsky.convo.getConvoForMembers({ members: [erin.did] }),
  ChatBskyConvoGetConvoForMembers.NotFollowedBySenderError,
)
await refused(
  'no such account: RecipientNotFoundError',
  a.chat.bsky.convo.getConvoForMembers({ members: ['did:plc:nobodyhere0000000000000'] }),
  ChatBskyConvoGetConvoForMembers.RecipientNotFoundError,
)
await admin('PATCH', `actors/${gus.handle}`, { status: 'deactivated' })
await refused(
  'a deactivated account: RecipientNotFoundError',
  a.chat.bsky.convo.getConvoForMembers({ members: [gus.did] }),
  ChatBskyConvoGetConvoForMembers.RecipientNotFoundError,
)
const noChat = await Promise.all(
  [carol, dan, erin, gus].map(async (x) => (await a.chat.bsky.convo.getConvoAvailability({ members: [x.did] })).data.canChat),
)
check('getConvoAvailability says canChat false for each of them', same(noChat, [false, false, false, false]), JSON.stringify(noChat))
await admin('PATCH', `actors/${erin.handle}`, { follows: [alice.did] })
const erinConvo = (await a.chat.bsky.convo.getConvoForMembers({ members: [erin.did] })).data.convo
check('once erin follows alice, getConvoForMembers works', erinConvo.kind?.$type === DEFS + 'directConvo')

// the send-time texts the app matches on
await admin('PATCH', `actors/${bob.handle}`, { blocks: [alice.did] })
await refusedWithText(
  "a block: message is exactly 'block between recipient and sender'",
  a.chat.bsky.convo.sendMessage({ convoId, message: { text: 'blocked?' } }),
  'block between recipient and sender',
)
await refusedWithText(
  'the same in a batch, and nothing is posted',
  a.chat.bsky.convo.sendMessageBatch({ items: [{ convoId, message: { text: 'blocked too?' } }] }),
  'block between recipient and sender',
)
await admin('PATCH', `actors/${bob.handle}`, { blocks: [] })
const afterBlock = (await a.chat.bsky.convo.getMessages({ convoId })).data.messages
check('no refused message was posted', !afterBlock.some((m) => m.text?.startsWith('blocked')))
const frankConvo = (await a.chat.bsky.convo.getConvoForMembers({ members: [frank.did] })).data.convo.id
await admin('PATCH', `actors/${frank.handle}`, { allowIncoming: 'none' })
await refusedWithText(
  "recipient who has not accepted turns incoming off: 'recipient has disabled incoming messages'",
  a.chat.bsky.convo.sendMessage({ convoId: frankConvo, message: { text: 'frank?' } }),
  'recipient has disabled incoming messages',
)

// getStatus
const status = (await a.chat.bsky.actor.getStatus({})).data
check(
  'getStatus of an active account',
  status.chatDisabled === false && status.canCreateGroups === true && Number.isInteger(status.groupMemberLimit),
  JSON.stringify(status),
)

// notification preferences
const defaults = (await a.chat.bsky.notification.getPreferences({})).data.preferences
check(
  'getPreferences: the defaults',
  same([defaults.chat.include, defaults.chat.push, defaults.chatRequest.include, defaults.chatRequest.push], ['all', true, 'all', true]),
  JSON.stringify(defaults),
)
const put = (await a.chat.bsky.notification.putPreferences({ chatRequest: { include: 'follows', push: false } })).data.preferences
check(
  'putPreferences changes only the kind given',
  same([put.chat.include, put.chat.push, put.chatRequest.include, put.chatRequest.push], ['all', true, 'follows', false]),
  JSON.stringify(put),
)
const read = (await a.chat.bsky.notification.getPreferences({})).data.preferences
check('getPreferences reads them back', same([read.chatRequest.include, read.chatRequest.push], ['follows', false]), JSON.stringify(read))
const bobs = (await b.chat.bsky.notification.getPreferences({})).data.preferences
check("and they are the caller's alone", bobs.chatRequest.include === 'all', JSON.stringify(bobs))

done()
