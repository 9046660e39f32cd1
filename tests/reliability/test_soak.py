"""Soak: a bounded, seeded mix of tens of thousands of calls; afterwards every invariant holds."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import Any

import aiohttp

from mockserver import MockChatServer
from mockserver.state import State

Json = dict[str, Any]
CALLS = int(os.environ.get("SOAK_CALLS", "20000"))
CONCURRENCY = 16
ACTORS = 30
GROUPS = 8
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
    )
]


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
        checks += 10
    for did, convo_ids in state.member_convos.items():
        assert all(did in state.convos[c].members for c in convo_ids), did
        checks += 1
    for did, requests in state.outgoing_requests.items():
        assert all(state.convos[c].requests.get(did) is r for c, r in requests.items())
        checks += 1
    return checks


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

        async def one(i: int) -> None:
            # the same draws in every run (the operation, the group, how the caller is picked); whom they
            # pick from the live members, and what the call then meets, follow the interleaving
            rng = random.Random(2584 * 100_003 + i)
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
    FIGURES["invariant checks"] = server.call(lambda s: check_invariants(s.state))
    assert FIGURES["calls"] >= CALLS and FIGURES["500"] == 0
    # the workload kept doing real work: writes of every kind succeeded, not only errors
    for nsid in WRITES:
        assert FIGURES[f"{nsid} 200"] >= max(1, CALLS // 2000), (nsid, FIGURES[f"{nsid} 200"])
    assert FIGURES["200"] >= CALLS * 0.4, f"only {FIGURES['200']} of {CALLS} calls succeeded"
    print("\nsoak figures:", {k: v for k, v in FIGURES.items() if " " not in k or not k.startswith("chat.")})
    print("per method:", sorted((k, v) for k, v in FIGURES.items() if k.startswith("chat.")))
