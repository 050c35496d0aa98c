'use strict';
// The bench's reference server: what the original Node system does per chat message.
//
//   Fastify + @fastify/websocket (ws) → JSON.parse the frame → node-postgres
//   INSERT … RETURNING into PostgreSQL → ioredis PUBLISH on the recipient's channel →
//   a subscriber connection forwards the payload to the recipient's socket(s); the
//   sender gets an `ack` with the stored row.
//
// It speaks enough of the project's frame protocol (api.md, "WebSocket") for the bench's
// one load generator to drive it like the project: `Authorization: Bearer <Firebase ID
// token>` on /ws/client/ and /ws/mitra/ → `auth.ok`; `message.send` with a `ref` → `ack`
// with the message; `message.new` to the other participant; `presence.heartbeat` → `ack`;
// `ping` → `pong`; a bad frame → `error`. Sign-in is `POST /api/{client,mitra}/auth/session`
// (upserts the user). Tokens are the Auth Emulator's unsigned ones (the project runs the
// bench in emulator mode too): the payload's aud/iss/exp/sub are checked, no signature.
//
// Not the product: no seq, no idempotency, no receipts, no flood control, no billing or
// session rules beyond "the sender is a participant of a live session". Bench only.
//
// Environment: PORT, HOST (127.0.0.1), DATABASE_URL, REDIS_URL, NB_PREFIX (Redis channel
// prefix), PG_POOL_MAX (10), FIREBASE_PROJECT_ID (demo-halobestie). Tables: schema.sql.

const Fastify = require('fastify');
const { Pool } = require('pg');
const Redis = require('ioredis');

const PORT = Number(process.env.PORT || 8090);
const HOST = process.env.HOST || '127.0.0.1';
const PREFIX = process.env.NB_PREFIX || 'nb';
const PROJECT_ID = process.env.FIREBASE_PROJECT_ID || 'demo-halobestie';
const MAX_BODY = 4000;

const pg = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL_MAX || 10) });
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const pub = new Redis(redisUrl, { lazyConnect: false });
const sub = new Redis(redisUrl, { lazyConnect: false });

// user id -> Set of sockets on this process; a user's channel is subscribed while it has one.
const local = new Map();
// session id -> { client_id, mitra_id } (participants never change for a session id).
const sessions = new Map();

const channelOf = (userId) => `${PREFIX}:user:${userId}`;

sub.on('message', (channel, payload) => {
  const sockets = local.get(channel.slice(PREFIX.length + 6));
  if (!sockets) return;
  for (const ws of sockets) {
    if (ws.readyState === 1) ws.send(payload);
  }
});

class TokenError extends Error {
  constructor(code, detail) { super(detail); this.code = code; this.detail = detail; }
}

function verifyToken(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw new TokenError('invalid_token', 'Malformed token.');
  let claims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (e) {
    throw new TokenError('invalid_token', 'Malformed token.');
  }
  const now = Date.now() / 1000;
  if (claims.aud !== PROJECT_ID || claims.iss !== `https://securetoken.google.com/${PROJECT_ID}`) {
    throw new TokenError('invalid_token', 'Wrong audience.');
  }
  if (typeof claims.sub !== 'string' || !claims.sub) throw new TokenError('invalid_token', 'No subject.');
  if (!(claims.exp > now - 30)) throw new TokenError('invalid_token', 'Token expired.');
  return { uid: claims.sub, phone: claims.phone_number || null, exp: claims.exp };
}

function bearer(headers) {
  const parts = String(headers.authorization || '').split(' ');
  return parts.length === 2 && parts[0].toLowerCase() === 'bearer' ? parts[1] : '';
}

const app = Fastify({ logger: false, bodyLimit: 65536 });

app.get('/', async () => 'ok');

for (const role of ['client', 'mitra']) {
  app.post(`/api/${role}/auth/session`, async (req, reply) => {
    let identity;
    try {
      identity = verifyToken(bearer(req.headers));
    } catch (e) {
      return reply.code(401).send({ code: e.code || 'invalid_token', detail: e.detail || 'Bad token.' });
    }
    const { rows } = await pg.query(
      `INSERT INTO nodebase.users (firebase_uid, role, phone) VALUES ($1, $2, $3)
       ON CONFLICT (firebase_uid, role) DO UPDATE SET last_sign_in_at = now()
       RETURNING id, (xmax = 0) AS created`,
      [identity.uid, role, identity.phone]);
    return reply.code(rows[0].created ? 201 : 200).send({ id: rows[0].id, role, created: rows[0].created });
  });
}

function send(ws, frame) {
  if (frame.ref === undefined || frame.ref === null) delete frame.ref;
  if (ws.readyState === 1) ws.send(JSON.stringify(frame));
}

async function participants(sessionId) {
  let s = sessions.get(sessionId);
  if (s) return s;
  const { rows } = await pg.query(
    `SELECT client_id, mitra_id FROM nodebase.sessions WHERE id = $1 AND state = 'active'`, [sessionId]);
  if (!rows.length) return null;
  s = { client_id: rows[0].client_id, mitra_id: rows[0].mitra_id };
  sessions.set(sessionId, s);
  return s;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function messageSend(ws, data) {
  const sid = data.session_id;
  const body = data.body;
  const cmid = data.client_message_id;
  if (typeof sid !== 'string' || !UUID_RE.test(sid)) return { error: ['validation_error', 'session_id must be a UUID.'] };
  if (typeof body !== 'string' || !body.trim() || body.length > MAX_BODY) {
    return { error: ['validation_error', `body must be 1..${MAX_BODY} characters.`] };
  }
  if (cmid !== undefined && (typeof cmid !== 'string' || cmid.length > 64)) {
    return { error: ['validation_error', 'client_message_id must be a short string.'] };
  }
  const s = await participants(sid);
  const mine = s && (ws.role === 'client' ? s.client_id : s.mitra_id);
  if (!s || mine !== ws.userId) return { error: ['not_found', 'No such live session.'] };
  const { rows } = await pg.query(
    `INSERT INTO nodebase.chat_messages (session_id, sender, sender_id, client_message_id, body)
     VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
    [sid, ws.role, ws.userId, cmid || '', body]);
  const message = {
    id: rows[0].id, session_id: sid, client_message_id: cmid || '', sender: ws.role, body,
    created_at: rows[0].created_at.toISOString(), status: 'sent', delivered_at: null, read_at: null,
  };
  const recipient = ws.role === 'client' ? s.mitra_id : s.client_id;
  await pub.publish(channelOf(recipient), JSON.stringify({ type: 'message.new', data: message }));
  return { data: message };
}

async function heartbeat(ws) {
  if (ws.role !== 'mitra') return { error: ['unknown_type', "Unknown frame type 'presence.heartbeat'."] };
  const { rows } = await pg.query(
    `INSERT INTO nodebase.mitra_presence (mitra_id, last_heartbeat_at) VALUES ($1, now())
     ON CONFLICT (mitra_id) DO UPDATE SET status = 'online', last_heartbeat_at = now()
     RETURNING status, last_heartbeat_at`, [ws.userId]);
  return { data: { status: rows[0].status, last_heartbeat_at: rows[0].last_heartbeat_at.toISOString() } };
}

async function onFrame(ws, raw) {
  let frame;
  try {
    frame = JSON.parse(raw);
  } catch (e) {
    return send(ws, { type: 'error', data: { code: 'validation_error', detail: 'Frame is not valid JSON.' } });
  }
  if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
    return send(ws, { type: 'error', data: { code: 'validation_error', detail: 'Frame must be a JSON object.' } });
  }
  const ref = (typeof frame.ref === 'string' || typeof frame.ref === 'number') ? frame.ref : undefined;
  const data = frame.data && typeof frame.data === 'object' ? frame.data : {};
  if (frame.type === 'ping') return send(ws, { type: 'pong', ref, data: { server_time: new Date().toISOString() } });
  if (!ws.userId) return send(ws, { type: 'error', ref, data: { code: 'not_authenticated', detail: 'Authenticate first.' } });
  let result;
  try {
    if (frame.type === 'message.send') result = await messageSend(ws, data);
    else if (frame.type === 'presence.heartbeat') result = await heartbeat(ws);
    else result = { error: ['unknown_type', `Unknown frame type '${String(frame.type).slice(0, 40)}'.`] };
  } catch (e) {
    result = { error: ['server_error', 'Something went wrong; retry.'] };
  }
  if (result.error) return send(ws, { type: 'error', ref, data: { code: result.error[0], detail: result.error[1] } });
  if (ref !== undefined) send(ws, { type: 'ack', ref, data: result.data });
}

async function attach(ws, userId) {
  let set = local.get(userId);
  if (!set) {
    set = new Set();
    local.set(userId, set);
    await sub.subscribe(channelOf(userId));
  }
  set.add(ws);
}

function detach(ws) {
  const set = ws.userId && local.get(ws.userId);
  if (!set) return;
  set.delete(ws);
  if (!set.size) {
    local.delete(ws.userId);
    sub.unsubscribe(channelOf(ws.userId)).catch(() => {});
  }
}

app.register(require('@fastify/websocket'), { options: { maxPayload: 65536, perMessageDeflate: false } });

app.register(async (scope) => {
  for (const role of ['client', 'mitra']) {
    scope.get(`/ws/${role}/`, { websocket: true }, (socket, req) => {
      const ws = socket;
      ws.role = role;
      ws.userId = null;
      const pending = [];
      let ready = false;
      ws.on('message', (raw, isBinary) => {
        if (isBinary) return;
        if (!ready) { pending.push(raw.toString()); return; }
        onFrame(ws, raw.toString());
      });
      ws.on('close', () => detach(ws));
      ws.on('error', () => {});
      (async () => {
        let identity;
        try {
          identity = verifyToken(bearer(req.headers));
        } catch (e) {
          send(ws, { type: 'error', data: { code: e.code || 'invalid_token', detail: e.detail || 'Bad token.' } });
          return ws.close(4401);
        }
        const { rows } = await pg.query(
          'SELECT id FROM nodebase.users WHERE firebase_uid = $1 AND role = $2', [identity.uid, role]);
        if (!rows.length) {
          send(ws, { type: 'error', data: { code: 'not_registered', detail: 'Sign in first.' } });
          return ws.close(4403);
        }
        ws.userId = rows[0].id;
        await attach(ws, ws.userId);
        if (ws.readyState !== 1) return detach(ws);
        send(ws, { type: 'auth.ok', data: { role, id: ws.userId, server_time: new Date().toISOString() } });
        ready = true;
        for (const raw of pending.splice(0)) onFrame(ws, raw);
      })().catch(() => { try { ws.close(1011); } catch (e) { /* gone */ } });
    });
  }
});

async function main() {
  await pg.query('SELECT 1');
  await app.listen({ port: PORT, host: HOST });
}

function stop() {
  app.close().finally(() => { pg.end(); pub.disconnect(); sub.disconnect(); process.exit(0); });
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

main().catch((e) => { console.error(e); process.exit(1); });
