"""Soak: a bounded, seeded mix of tens of thousands of calls, in groups and direct (1:1) convos;
afterwards every invariant holds."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import Any

import aiohttp

from mockserver import MockChatServer, consistency
from mockserver.state import Convo, Member, State

Json = dict[str, Any]
CALLS = int(os.environ.get("SOAK_CALLS", "20000"))
CONCURRENCY = 16
ACTORS = 30
GROUPS = 8
DIRECT_SHARE = 0.3
"""The share of calls about direct convos and the rest of a chat client's calls."""
NEIGHBOURS = 4
"""Direct convos are between an actor and one of the next few: 120 pairs, each met often."""
FIGURES: Counter[str] = Counter()
WRITES = [
    f"chat.bsky.{name}"
    for name in (
        "convo.sendMessage",
        "group.requestJoin",
        "group.addMembers",
        "group.removeMembers",
        "convo.leaveConvo",
        "group.approveJoinRequest",
        "group.rejectJoinRequest",
        "group.withdrawJoinRequest",
        "convo.acceptConvo",
        "group.editGroup",
        "convo.getConvoForMembers",
        "convo.sendMessageBatch",
        "convo.deleteMessageForSelf",
        "convo.addReaction",
        "notification.putPreferences",
    )
]
DIRECT_ERRORS = {
    # what a direct-lane call may meet (in the mix a convo may be left, a block or a declaration
    # may change in between); anything else is the server misbehaving
    "chat.bsky.convo.getConvoForMembers": {"BlockedActor", "BlockedSubject", "MessagesDisabled", "NotFollowedBySender"},
    "chat.bsky.convo.sendMessage": {"InvalidConvo", "InvalidRequest"},
    "chat.bsky.convo.sendMessageBatch": {"InvalidConvo", "InvalidRequest", "ConvoLocked"},
    "chat.bsky.convo.deleteMessageForSelf": {"InvalidConvo", "InvalidRequest", "MessageDeleteNotAllowed"},
    "chat.bsky.convo.addReaction": {"InvalidConvo", "InvalidRequest", "ReactionMessageDeleted"},
    "chat.bsky.convo.acceptConvo": {"InvalidConvo"},
    "chat.bsky.convo.leaveConvo": {"InvalidConvo"},
    "chat.bsky.convo.getConvo": {"InvalidConvo"},
    "chat.bsky.convo.getMessages": {"InvalidConvo"},
}
DIRECT_SEND_TEXTS = {
    "block between recipient and sender",
    "recipient has disabled incoming messages",
    "recipient requires incoming messages to come from someone they follow",
}
"""The only ``InvalidRequest`` texts a send into a direct convo may give here."""
CONVO = "chat.bsky.convo.defs#"


def check_invariants(state: State) -> int:
    """Assert every structural invariant of the state; returns how many checks ran."""
    checks = 0
    for convo in state.convos.values():
        assert len(convo.members) <= convo.member_limit, (convo.id, len(convo.members), convo.member_limit)
        owners = [m for m in convo.members.values() if m.role == "owner"]
        assert len(owners) <= 1 and all(m.did == convo.owner for m in owners)
        for did, member in convo.members.items():
            assert did in state.actors and convo.id in state.member_convos.get(did, set())
            assert member.unread >= 0 and member.status in ("request", "accepted")
            assert did not in convo.requests and did not in convo.kicked
        for did, request in convo.requests.items():
            assert state.outgoing_requests[did][convo.id] is request
        assert convo.unread_requests == sum(r.seq > convo.requests_read_seq for r in convo.requests.values())
        assert not convo.link or state.links[convo.link.code] is convo.link
        assert [m.seq for m in convo.messages] == list(range(len(convo.messages)))
        assert all(convo.message_ids[m.id] is m for m in convo.messages)
        assert convo.event_revs == sorted(set(convo.event_revs))
        for member in convo.members.values():  # deleting for oneself keeps the unread count right
            assert member.deleted <= convo.message_ids.keys(), (convo.id, member.did)
            unread = [
                m
                for m in convo.messages[member.read_seq + 1 :]
                if m.sender is not None and m.sender != member.did and m.id not in member.deleted
            ]
            assert member.unread == len(unread), (convo.id, member.did, member.unread, len(unread))
        checks += 12
        if convo.direct:
            checks += check_direct(state, convo)
    for did, convo_ids in state.member_convos.items():
        assert all(did in state.convos[c].members for c in convo_ids), did
        checks += 1
    for did, requests in state.outgoing_requests.items():
        assert all(state.convos[c].requests.get(did) is r for c, r in requests.items())
        checks += 1
    # one direct convo per pair: the index and the convos agree both ways
    pairs = [frozenset(c.pair) for c in state.convos.values() if c.direct]
    assert len(pairs) == len(set(pairs)) == len(state.directs)
    assert all(state.convos[c].direct and frozenset(state.convos[c].pair) == p for p, c in state.directs.items())
    checks += 2
    consistency.check(state)  # "states made by the mock's own operations pass by construction"
    return checks + 1


def recent(convo: Convo, member: Member, n: int) -> list[str]:
    """Ids of the latest ``n`` messages ``member`` can see."""
    return [m.id for m in convo.messages[max(member.joined_seq, len(convo.messages) - n) :]]


def check_direct(state: State, convo: Convo) -> int:
    """The invariants of one direct convo; returns how many checks ran."""
    assert len(convo.pair) == 2 and len(set(convo.pair)) == 2 and set(convo.pair) <= state.actors.keys(), convo.pair
    assert set(convo.members) <= set(convo.pair), (convo.id, convo.pair, list(convo.members))
    assert state.directs[frozenset(convo.pair)] == convo.id
    assert convo.owner == "" and convo.member_limit == 2 and convo.lock_status == "unlocked", convo.id
    assert not convo.link and not convo.requests and not convo.kicked, convo.id
    assert all(m.role == "standard" for m in convo.members.values()), convo.id
    # no system messages; every message is from one of the two
    assert all(m.system is None and m.sender in convo.pair for m in convo.messages), convo.id
    # log events go to the two only
    assert all(e.audience <= set(convo.pair) for e in convo.events), convo.id
    return 8


async def test_soak_mixed_workload(server: MockChatServer) -> None:
    rng = random.Random(2584)  # the groups' first members
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:

        async def admin(path: str, body: Json) -> Json:
            async with http.post(f"{server.url}/_mock/{path}", json=body) as r:
                out: Json = await r.json()
                return out

        actors = [await admin("actors", {"handle": f"soak{i}.test"}) for i in range(ACTORS)]
        tokens = {a["did"]: a["accessJwt"] for a in actors}
        dids = list(tokens)
        for w, did in enumerate(dids):  # each follows the two before and after it; some take DMs from those only
            follows = [dids[(w + k) % ACTORS] for k in (-2, -1, 1, 2)]
            allow = ("all", "all", "following", "none")[w % 4] if w >= GROUPS else "all"
            async with http.patch(
                f"{server.url}/_mock/actors/{did}", json={"follows": follows, "allowIncoming": allow}
            ) as r:
                assert r.status == 200, await r.text()
        convos: list[str] = []
        codes: list[str] = []

        async def xrpc(did: str, nsid: str, body: Json | None = None, **params: Any) -> tuple[int, Json]:
            headers = {"Authorization": f"Bearer {tokens[did]}"}
            url = f"{server.url}/xrpc/{nsid}"
            request = (
                http.post(url, json=body, headers=headers)
                if body is not None
                else http.get(url, params=params, headers=headers)
            )
            async with request as r:
                FIGURES["calls"] += 1
                FIGURES[str(r.status)] += 1
                out: Json = await r.json() if r.status != 200 or r.content_length else {}
                FIGURES[f"{nsid} {out.get('error', r.status) if r.status != 200 else 200}"] += 1
                assert r.status < 500, (nsid, body, params, out)
                return r.status, out

        async def new_group(g: int) -> None:
            """A group of 6 with a join link in slot ``g`` (half of the links need approval)."""
            owner = dids[g]
            others = [d for d in dids if d != owner]
            status, out = await xrpc(
                owner, "chat.bsky.group.createGroup", {"name": f"Soak {g}", "members": rng.sample(others, 5)}
            )
            assert status == 200, out
            convo = out["convo"]["id"]
            status, out = await xrpc(
                owner,
                "chat.bsky.group.createJoinLink",
                {"convoId": convo, "joinRule": "anyone", "requireApproval": g % 2 == 0},
            )
            assert status == 200, out
            async with http.patch(f"{server.url}/_mock/convos/{convo}", json={"memberLimit": 12}) as r:
                assert r.status == 200
            convos[g : g + 1], codes[g : g + 1] = [convo], [out["joinLink"]["code"]]

        convos = [""] * GROUPS
        codes = [""] * GROUPS
        for g in range(GROUPS):
            await new_group(g)
        retiring: set[int] = set()

        async def retire(g: int) -> None:
            """The owner locks the group and leaves it (closed for good); a new group takes its slot."""
            retiring.add(g)
            try:
                convo, owner = convos[g], dids[g]
                for _ in range(20):  # another worker may unlock it in between
                    status, out = await xrpc(owner, "chat.bsky.convo.lockConvo", {"convoId": convo})
                    assert status == 200 or out["error"] == "ConvoLocked", out  # it may be locked already
                    status, out = await xrpc(owner, "chat.bsky.convo.leaveConvo", {"convoId": convo})
                    if status == 200:
                        break
                    assert out["error"] == "OwnerCannotLeave", out
                assert status == 200, out
                FIGURES["groups retired"] += 1
                await new_group(g)
            finally:
                retiring.discard(g)

        # direct convos: actor w and the next NEIGHBOURS actors; blocks only between actors who own no
        # group slot (a block would refuse a slot's createGroup); declarations change as the mix goes
        pair_ids: dict[frozenset[str], str] = {}

        def same_pair_convo(pair: frozenset[str], view: Json) -> None:
            """Every view of a pair's convo is the one direct convo of the two, with the two as members."""
            assert view["kind"]["$type"] == CONVO + "directConvo", view["kind"]
            assert {m["did"] for m in view["members"]} == pair, (view["id"], view["members"], pair)
            assert pair_ids.setdefault(pair, view["id"]) == view["id"], ("two convos for a pair", view["id"], pair)

        async def checked(who: str, nsid: str, body: Json | None = None, **params: Any) -> tuple[int, Json]:
            """A direct-lane call: an error must be one this call can meet in the mix."""
            status, out = await xrpc(who, nsid, body, **params)
            if status != 200:
                assert out.get("error") in DIRECT_ERRORS.get(nsid, set()), (nsid, body, params, status, out)
                if out["error"] == "InvalidRequest" and nsid.startswith("chat.bsky.convo.sendMessage"):
                    assert out.get("message") in DIRECT_SEND_TEXTS, (nsid, body, out)
                FIGURES[f"direct {nsid.rsplit('.', 1)[1]} refused"] += 1
            return status, out

        def look(s: Any, who: str, other: str, pick: float) -> Json:
            """What a direct call needs to know, read where the server runs."""
            state = s.state
            convo_id = state.directs.get(frozenset((who, other)))
            direct = state.convos[convo_id] if convo_id else None
            member = direct.members.get(who) if direct else None
            mine = sorted(state.convos_of(who))
            mine_direct = [c for c in mine if state.convos[c].direct]
            some = state.convos[mine[int(pick * len(mine))]] if mine else None  # any convo of theirs
            some_member = some.members[who] if some else None
            return {
                "convo": convo_id,
                "member": member is not None,
                "visible": recent(direct, member, 12) if direct and member else [],
                "deleted": set(member.deleted) if member else set(),
                "mine": mine,
                "mineDirect": mine_direct,
                "some": some.id if some else None,
                "someMessages": recent(some, some_member, 6) if some and some_member else [],
                "blocks": set(state.actors[who].blocks),
            }

        async def direct_call(i: int, rng: random.Random) -> None:
            w, k = rng.randrange(ACTORS), rng.randint(1, NEIGHBOURS)
            ends = (w, (w + k) % ACTORS) if rng.random() < 0.5 else ((w + k) % ACTORS, w)  # either side calls
            who, other = dids[ends[0]], dids[ends[1]]
            pair = frozenset((who, other))
            op, pick, coin, flip = rng.random(), rng.random(), rng.random(), rng.random()
            seen = server.call(lambda s: look(s, who, other, pick))
            convo = seen["convo"]
            if op < 0.12 or (0.18 <= op < 0.36 and (convo is None or (not seen["member"] and coin < 0.5))):
                # getConvoForMembers (also the way into a convo before sending)
                members = [other] if flip < 0.8 else [who, other]  # the caller may name themselves too
                status, out = await checked(who, "chat.bsky.convo.getConvoForMembers", members=members)
                if status == 200:
                    same_pair_convo(pair, out["convo"])
                    assert out["convo"]["status"] in ("request", "accepted"), out["convo"]
                    convo = out["convo"]["id"]
                if op < 0.12 or status != 200:
                    return
            if op < 0.18:
                status, out = await checked(who, "chat.bsky.convo.getConvoAvailability", members=[other])
                assert status == 200 and isinstance(out["canChat"], bool), out
                if "convo" in out:
                    same_pair_convo(pair, out["convo"])
            elif op < 0.36:
                text = f"d{i}"
                status, out = await checked(
                    who, "chat.bsky.convo.sendMessage", {"convoId": convo, "message": {"text": text}}
                )
                if status == 200:
                    assert out["$type"] == CONVO + "messageView" and out["text"] == text, out
                    FIGURES["direct messages sent"] += 1
            elif op < 0.42:
                # into their direct convos, now and then a group of theirs (often locked by now)
                texts = [f"b{i}.{n}" for n in range(1 + int(coin * 3))]
                items = []
                for text in texts:
                    targets = seen["mineDirect"] if rng.random() < 0.85 and seen["mineDirect"] else seen["mine"]
                    if not targets:
                        return
                    items.append({"convoId": targets[rng.randrange(len(targets))], "message": {"text": text}})
                status, out = await checked(who, "chat.bsky.convo.sendMessageBatch", {"items": items})
                if status == 200:
                    assert [m["text"] for m in out["items"]] == texts, (items, out)
            elif op < 0.50:
                # mostly a message of the direct convo (perhaps deleted already), sometimes one of any
                # convo of theirs (a group's system messages are refused)
                in_direct = coin < 0.75 and seen["visible"]
                target, ids = (convo, seen["visible"]) if in_direct else (seen["some"], seen["someMessages"])
                if not ids:
                    return
                message_id = ids[int(pick * len(ids))]
                body = {"convoId": target, "messageId": message_id}
                status, out = await checked(who, "chat.bsky.convo.deleteMessageForSelf", body)
                if status == 200:
                    assert out["$type"] == CONVO + "deletedMessageView" and out["id"] == message_id, out
                    FIGURES["deleted again" if message_id in seen["deleted"] else "deleted for self"] += 1
            elif op < 0.54:
                if not seen["visible"]:
                    return
                message_id = seen["visible"][int(pick * len(seen["visible"]))]
                value = "👍❤😂"[int(coin * 3)]
                body = {"convoId": convo, "messageId": message_id, "value": value}
                status, out = await checked(who, "chat.bsky.convo.addReaction", body)
                if message_id in seen["deleted"]:  # deleted for self before the call: never reactable again
                    assert out.get("error") in ("ReactionMessageDeleted", "InvalidConvo", "InvalidRequest"), out
                elif status == 200:
                    mine = [r["value"] for r in out["message"]["reactions"] if r["sender"]["did"] == who]
                    assert value in mine, (value, out["message"])
            elif op < 0.58:
                if convo:
                    await checked(who, "chat.bsky.convo.acceptConvo", {"convoId": convo})
            elif op < 0.61:
                if convo:
                    status, out = await checked(who, "chat.bsky.convo.leaveConvo", {"convoId": convo})
                    assert status != 200 or out["convoId"] == convo, out
            elif op < 0.64:
                if convo:
                    status, out = await checked(who, "chat.bsky.convo.getConvo", convoId=convo)
                    if status == 200:
                        same_pair_convo(pair, out["convo"])
            elif op < 0.68:
                if convo:
                    status, out = await checked(who, "chat.bsky.convo.getMessages", convoId=convo, limit=20)
                    if status == 200:  # no system messages; what the caller deleted stays hidden from them
                        assert all(m["$type"] == CONVO + "messageView" for m in out["messages"]), out["messages"]
                        assert not {m["id"] for m in out["messages"]} & seen["deleted"], out["messages"]
            elif op < 0.78:
                kind = ("direct", "group", None)[int(pick * 3)]
                status_filter = ("request", "accepted", None)[int(coin * 3)]
                params: Json = {k: v for k, v in (("kind", kind), ("status", status_filter)) if v is not None}
                status, out = await checked(who, "chat.bsky.convo.listConvos", limit=20, **params)
                assert status == 200, out
                for view in out["convos"]:
                    assert kind is None or view["kind"]["$type"] == f"{CONVO}{kind}Convo", (params, view["kind"])
                    assert status_filter is None or view["status"] == status_filter, (params, view["status"])
                    assert who in {m["did"] for m in view["members"]}, (who, view["members"])
            elif op < 0.86:
                include = "false" if coin < 0.75 else "true"
                status, out = await checked(who, "chat.bsky.convo.getUnreadCounts", includeGroupChats=include)
                assert status == 200 and all(
                    0 <= out[k] <= 100 for k in ("unreadAcceptedConvos", "unreadRequestConvos")
                )
            elif op < 0.93:
                kinds = [("chat",), ("chatRequest",), ("chat", "chatRequest")][int(pick * 3)]
                given = {kind: {"include": ("all", "follows")[int(coin * 2)], "push": flip < 0.5} for kind in kinds}
                status, out = await checked(who, "chat.bsky.notification.putPreferences", given)
                assert status == 200 and all(out["preferences"][kind] == given[kind] for kind in kinds), (given, out)
            elif op < 0.95:
                status, out = await checked(who, "chat.bsky.notification.getPreferences")
                assert status == 200 and set(out["preferences"]) == {"chat", "chatRequest"}, out
            elif op < 0.965 and min(ends) >= GROUPS:  # (with a slot's owner: a declaration change instead)
                blocks = seen["blocks"] ^ {other}  # who blocks the other, or stops
                async with http.patch(f"{server.url}/_mock/actors/{who}", json={"blocks": sorted(blocks)}) as r:
                    assert r.status == 200, await r.text()
                FIGURES["blocks toggled"] += 1
            else:
                allow = ("all", "all", "following", "none")[int(pick * 4)]
                async with http.patch(f"{server.url}/_mock/actors/{who}", json={"allowIncoming": allow}) as r:
                    assert r.status == 200, await r.text()
                FIGURES["declarations changed"] += 1

        async def one(i: int) -> None:
            # the same draws in every run (the lane, the operation, the group or pair, how the caller is
            # picked); whom they pick from the live members, and what the call then meets, follow the interleaving
            rng = random.Random(2584 * 100_003 + i)
            if rng.random() < DIRECT_SHARE:
                await direct_call(i, rng)
                return
            g = rng.randrange(GROUPS)
            convo, owner = convos[g], dids[g]
            op = rng.random()
            members, requests = server.call(
                lambda s: (list(s.state.convos[convo].members), list(s.state.convos[convo].requests))
            )
            # mostly someone the call suits (a member; an outsider to join; a requester to approve), sometimes anyone
            if 0.25 <= op < 0.35:
                likely = [d for d in dids if d not in members]
            else:
                likely = requests if 0.52 <= op < 0.62 else members
            likely = [d for d in likely if d != owner]
            prefer, pick = rng.random() < 0.7, rng.random()
            pool = likely if likely and prefer else [d for d in dids if d != owner]
            who = pool[int(pick * len(pool))]
            if op < 0.004:
                if g not in retiring:
                    await retire(g)
            elif op < 0.25:
                await xrpc(who, "chat.bsky.convo.sendMessage", {"convoId": convo, "message": {"text": f"m{i}"}})
            elif op < 0.35:
                await xrpc(who, "chat.bsky.group.requestJoin", {"code": codes[g]})
            elif op < 0.42:
                await xrpc(owner, "chat.bsky.group.addMembers", {"convoId": convo, "members": rng.sample(dids, 2)})
            elif op < 0.47:
                await xrpc(owner, "chat.bsky.group.removeMembers", {"convoId": convo, "members": [who]})
            elif op < 0.52:
                await xrpc(who, "chat.bsky.convo.leaveConvo", {"convoId": convo})
            elif op < 0.56:
                await xrpc(owner, "chat.bsky.group.approveJoinRequest", {"convoId": convo, "member": who})
            elif op < 0.58:
                await xrpc(owner, "chat.bsky.group.rejectJoinRequest", {"convoId": convo, "member": who})
            elif op < 0.60:
                nsid = "chat.bsky.convo.lockConvo" if rng.random() < 0.5 else "chat.bsky.convo.unlockConvo"
                await xrpc(owner, nsid, {"convoId": convo})
            elif op < 0.62:
                await xrpc(who, "chat.bsky.group.withdrawJoinRequest", {"convoId": convo})
            elif op < 0.70:
                await xrpc(who, "chat.bsky.convo.getConvo", convoId=convo)
            elif op < 0.78:
                await xrpc(who, "chat.bsky.convo.getLog")
            elif op < 0.84:
                await xrpc(who, "chat.bsky.convo.listConvos", limit=20)
            elif op < 0.90:
                await xrpc(who, "chat.bsky.convo.getMessages", convoId=convo, limit=20)
            elif op < 0.95:
                await xrpc(who, "chat.bsky.convo.acceptConvo", {"convoId": convo})
            elif op < 0.97:
                await xrpc(owner, "chat.bsky.group.editGroup", {"convoId": convo, "name": f"Soak {g} #{i}"})
            else:
                await xrpc(owner, "chat.bsky.group.updateJoinRequestsRead", {"convoId": convo})

        queue = iter(range(CALLS))

        async def worker() -> None:
            for i in queue:
                await one(i)

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONCURRENCY))), timeout=600)
        # every slot holds a live group, and every member's view agrees with the state
        for g, convo in enumerate(convos):
            members = server.call(lambda s, c=convo: list(s.state.convos[c].members))  # type: ignore[misc]
            assert dids[g] in members, f"slot {g}: the owner left {convo} but no new group took its place"
            for did in members:
                status, out = await xrpc(did, "chat.bsky.convo.getConvo", convoId=convo)
                assert status == 200, out
                assert out["convo"]["kind"]["memberCount"] == len(members)
                FIGURES["memberCount checks"] += 1
        # every direct convo: each of its two has it (getConvo, getConvoMembers, getMessages: 200) or, having
        # left it, does not; every answer names the pair's one convo
        directs = server.call(
            lambda s: [
                (c.id, c.pair, {did: set(m.deleted) for did, m in c.members.items()})
                for c in s.state.convos.values()
                if c.direct
            ]
        )
        index, blocks = server.call(
            lambda s: (dict(s.state.directs), {a.did: set(a.blocks) for a in s.state.actors.values()})
        )
        assert directs and pair_ids.items() <= index.items(), (
            "getConvoForMembers answered a convo the pair does not have"
        )
        FIGURES["direct convos"] = len(directs)
        for convo_id, two, deleted in directs:
            pair = frozenset(two)
            for did in two:
                other = next(d for d in two if d != did)
                status, out = await xrpc(did, "chat.bsky.convo.getConvoAvailability", members=[other])
                assert status == 200, out
                if did not in deleted:  # left it
                    assert "convo" not in out, (did, out)
                    status, out = await xrpc(did, "chat.bsky.convo.getConvo", convoId=convo_id)
                    assert (status, out.get("error")) == (400, "InvalidConvo"), (did, convo_id, out)
                    continue
                assert out["convo"]["id"] == convo_id, (did, convo_id, out)
                status, out = await xrpc(did, "chat.bsky.convo.getConvo", convoId=convo_id)
                assert status == 200, (did, convo_id, out)
                same_pair_convo(pair, out["convo"])
                status, out = await xrpc(did, "chat.bsky.convo.getConvoMembers", convoId=convo_id)
                assert status == 200 and {m["did"] for m in out["members"]} == pair, (did, convo_id, out)
                status, out = await xrpc(did, "chat.bsky.convo.getMessages", convoId=convo_id, limit=100)
                assert status == 200, (did, convo_id, out)
                assert all(m["$type"] == CONVO + "messageView" for m in out["messages"]), out["messages"]
                assert not {m["id"] for m in out["messages"]} & deleted[did], (did, convo_id, deleted[did])
                FIGURES["direct view checks"] += 1
        # getUnreadCounts without groups: the unread direct convos listConvos shows, less those with a block
        # either way (none is muted or locked); with groups, never fewer
        for did in dids:
            status, without = await xrpc(did, "chat.bsky.convo.getUnreadCounts", includeGroupChats="false")
            assert status == 200, without
            status, with_groups = await xrpc(did, "chat.bsky.convo.getUnreadCounts", includeGroupChats="true")
            assert status == 200, with_groups
            for status_filter, key in (("accepted", "unreadAcceptedConvos"), ("request", "unreadRequestConvos")):
                status, out = await xrpc(
                    did,
                    "chat.bsky.convo.listConvos",
                    kind="direct",
                    status=status_filter,
                    readState="unread",
                    limit=100,
                )
                assert status == 200, out
                others = [next(m["did"] for m in v["members"] if m["did"] != did) for v in out["convos"]]
                reachable = [o for o in others if o not in blocks[did] and did not in blocks[o]]
                assert without[key] == len(reachable), (did, key, without, others, blocks[did])
                assert with_groups[key] >= without[key], (did, key, without, with_groups)
                FIGURES["unread count checks"] += 1
    FIGURES["invariant checks"] = server.call(lambda s: check_invariants(s.state))
    assert FIGURES["calls"] >= CALLS and FIGURES["500"] == 0
    # the workload kept doing real work: writes of every kind succeeded, not only errors
    for nsid in WRITES:
        assert FIGURES[f"{nsid} 200"] >= max(1, CALLS // 2000), (nsid, FIGURES[f"{nsid} 200"])
    assert FIGURES["direct messages sent"] >= max(1, CALLS // 100), FIGURES["direct messages sent"]
    assert FIGURES["deleted for self"] >= max(1, CALLS // 2000), FIGURES["deleted for self"]
    assert FIGURES["200"] >= CALLS * 0.4, f"only {FIGURES['200']} of {CALLS} calls succeeded"
    print("\nsoak figures:", {k: v for k, v in FIGURES.items() if " " not in k or not k.startswith("chat.")})
    print("per method:", sorted((k, v) for k, v in FIGURES.items() if k.startswith("chat.")))
