"""The reference catch-up rules of `timeline.js`, run in real Chromium against a fake
transport (no server): gaps by seq, dedupe by id, statuses only forward, the outbox's
retries with the same client_message_id."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

JS = Path(__file__).resolve().parent.parent / "static" / "webchat" / "js"
ORIGIN = "http://webchat.test"

SCENARIO = """async () => {
  const { Timeline } = await import("/js/timeline.js");
  const S = "s1";
  const msg = (seq, extra = {}) => ({ id: `m${seq}`, session_id: S, seq, sender: "mitra", body: `b${seq}`,
    client_message_id: `c${seq}`, status: "sent", created_at: new Date().toISOString(), ...extra });
  const fetched = [];
  const api = { async messagesSince(sid, cursor) { fetched.push(cursor); return [msg(3), msg(4)]; },
                async post() { throw Object.assign(new Error("offline"), { code: "network_error" }); } };
  let calls = 0;
  const socket = { ready: true, async request(type, data) {
    calls += 1;
    if (calls === 1) throw Object.assign(new Error("busy"), { code: "throttled", retry_after: 0.2 });
    return { id: "m5", session_id: S, seq: 5, sender: "client", body: data.body, client_message_id: data.client_message_id,
             status: "sent", created_at: new Date().toISOString() };
  } };
  const t = new Timeline({ sessionId: S, role: "client", api, socket });
  const out = {};
  t.ingest(msg(1)); t.ingest(msg(2));
  out.lastSeqAfterTwo = t.lastSeq;
  t.onMessageNew(msg(4));                    // 3 is missing: a gap
  await t.catchUp();                         // (already running: joins it)
  out.cursor = fetched[0];
  out.seqs = t.list().map((m) => m.seq);
  t.onMessageNew(msg(2));                    // a duplicate event
  out.afterDuplicate = t.list().length;
  t.applyStatus({ message_ids: ["m1"], status: "read", at: "x" });
  t.ingest(msg(1, { status: "delivered" })); // an older page arrives late
  out.m1 = t.byId.get("m1").status;
  const local = t.send("halo");
  out.pendingFirst = local.status;
  for (let i = 0; i < 100 && t.outbox.size; i++) await new Promise((r) => setTimeout(r, 50));
  out.calls = calls;
  out.outboxLeft = t.outbox.size;
  out.final = t.list().map((m) => [m.seq, m.body]);
  t.onMessageNew({ ...t.byId.get("m5") });   // its own event after the ack
  out.finalCount = t.list().length;
  const legacy = new Timeline({ sessionId: S, role: "client", api, socket });
  legacy.ingest({ ...msg(9), seq: undefined });
  out.legacyCursor = legacy._cursor(false);
  return out;
}"""


def test_timeline_catch_up_rules(chromium):
    context = chromium.new_context()

    def serve(route):
        name = route.request.url.removeprefix(f"{ORIGIN}/js/")
        path = JS / name
        if route.request.url == f"{ORIGIN}/":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>t</title>")
        elif path.is_file():
            route.fulfill(status=200, content_type="text/javascript", body=path.read_text())
        else:
            route.fulfill(status=404, body="")

    context.route(f"{ORIGIN}/**", serve)
    page = context.new_page()
    page.goto(f"{ORIGIN}/")
    out = page.evaluate(SCENARIO)
    context.close()
    assert out["lastSeqAfterTwo"] == 2
    assert out["cursor"] == {"after_seq": "2"}  # fetched from the last gapless seq
    assert out["seqs"] == [1, 2, 3, 4]  # 4 once, 3 placed before it
    assert out["afterDuplicate"] == 4
    assert out["m1"] == "read"  # never backwards
    assert out["pendingFirst"] == "pending"
    assert out["calls"] == 2 and out["outboxLeft"] == 0  # throttled once, retried after retry_after
    assert out["final"] == [[1, "b1"], [2, "b2"], [3, "b3"], [4, "b4"], [5, "halo"]]
    assert out["finalCount"] == 5
    assert out["legacyCursor"] == {"after": "m9"}  # a server without seq: the id cursor
