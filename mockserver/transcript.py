"""Transcripts: a recording rendered as a readable Markdown account, group by group."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


ROUTINE = ("com.atproto.server.", "app.bsky.actor.getProfile")
"""Logins, refreshes and profile reads: counted, not listed (every client makes them)."""


def _convo_of(line: Json, codes: dict[str, str]) -> str | None:
    for source in (line.get("input") or {}, line.get("params") or {}):
        if isinstance(source, dict) and isinstance(source.get("convoId"), str):
            return str(source["convoId"])
        if isinstance(source, dict) and isinstance(source.get("code"), str) and source["code"] in codes:
            return codes[source["code"]]  # a requestJoin belongs to the group its link opens
    output = line.get("output") or {}
    convo = output.get("convo") if isinstance(output, dict) else None
    if isinstance(convo, dict) and isinstance(convo.get("id"), str):
        return str(convo["id"])
    return None


def _what(line: Json) -> str:
    given = line.get("input") or {}
    if not isinstance(given, dict):
        given = {}
    details = []
    message = given.get("message")
    if isinstance(message, dict) and "text" in message:
        details.append(f'"{message["text"]}"')
    for key in ("name", "code", "value", "joinRule", "requireApproval"):
        if key in given:
            details.append(f"{key}={given[key]!r}")
    for key in ("members", "member"):
        if key in given:
            details.append(f"{key}={given[key]}")
    return f"`{line['method'].rsplit('.', 1)[1]}`" + (f" {', '.join(details)}" if details else "")


def _outcome(line: Json) -> str:
    if line.get("status") == 200:
        output = line.get("output") or {}
        if isinstance(output, dict) and "status" in output:
            return f"ok ({output['status']})"
        return "ok"
    if line.get("status") == 0:
        return "connection dropped"
    return f"**{line.get('error')}** ({line.get('status')}): {line.get('message')}"


def render(lines: list[Json]) -> str:
    """Markdown: the starting states, then each group's calls in order, then the other calls."""
    handles: dict[str, str] = {}
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    routine = 0
    groups: dict[str, list[str]] = {}
    other: list[str] = []
    out = ["# Transcript", ""]
    calls = errors = 0
    for line in lines:
        if line["type"] == "start":
            state = line["state"]
            handles.update({a["did"]: a["handle"] for a in state.get("actors", [])})
            names.update({c["id"]: c["name"] for c in state.get("convos", []) if c.get("name")})
            codes.update({link["code"]: link["convo_id"] for link in state.get("links", [])})
            what = f"scenario `{line['scenario']}`" if line.get("scenario") else "a state"
            out.append(
                f"- {line.get('time', '')}: started from {what} "
                f"({len(state.get('actors', []))} accounts, {len(state.get('convos', []))} groups)"
            )
            continue
        if line["type"] == "admin":
            body = line.get("body") or {}
            made = line.get("result") or {}
            if isinstance(made.get("did"), str) and isinstance(made.get("handle"), str):
                handles[made["did"]] = made["handle"]  # an account made or renamed through the admin API
            other.append(
                f"- {line.get('time', '')} admin `{line['op']}` {line.get('target') or body.get('handle', '')}"
            )
            continue
        calls += 1
        errors += line.get("status") != 200
        output = line.get("output") or {}
        output_link = output.get("joinLink") if isinstance(output, dict) else None
        given: Json = line["input"] if isinstance(line.get("input"), dict) else {}
        if isinstance(output_link, dict) and isinstance(given.get("convoId"), str):
            codes[str(output_link.get("code"))] = given["convoId"]
        convo = _convo_of(line, codes)
        if isinstance(output, dict) and isinstance(output.get("convo"), dict):
            name = output["convo"].get("kind", {}).get("name")
            if isinstance(name, str):
                names[output["convo"]["id"]] = name
        if line["method"] == "com.atproto.server.createSession" and isinstance(output, dict) and "did" in output:
            handles[output["did"]] = str(output.get("handle", output["did"]))
        if line["method"].startswith(ROUTINE) and line.get("status") == 200:
            routine += 1
            continue
        who = handles.get(line.get("actor") or "", line.get("actor") or "anonymous")
        entry = f"- {line.get('time', '')} **{who}** {_what(line)} → {_outcome(line)}"
        (groups.setdefault(convo, []) if convo else other).append(entry)
    summary = f"{calls} calls, {errors} refused or failed"
    summary += f"; {routine} successful logins, refreshes and profile reads not listed." if routine else "."
    out[1:1] = ["", summary, ""]
    for convo, entries in groups.items():
        out += ["", f"## {names.get(convo, 'Group')} (`{convo}`)", "", *entries]
    if other:
        out += ["", "## Other calls", "", *other]
    return "\n".join(out) + "\n"
