-- Tables of the bench's Node reference server (bench/node_baseline/server.js), in their own
-- schema of the bench database. The bench drops and re-creates the schema before each run.
DROP SCHEMA IF EXISTS nodebase CASCADE;
CREATE SCHEMA nodebase;

CREATE TABLE nodebase.users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firebase_uid text NOT NULL,
    role text NOT NULL,
    phone text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (firebase_uid, role)
);

CREATE TABLE nodebase.sessions (
    id uuid PRIMARY KEY,
    client_id uuid NOT NULL REFERENCES nodebase.users (id),
    mitra_id uuid NOT NULL REFERENCES nodebase.users (id),
    state text NOT NULL DEFAULT 'active',
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON nodebase.sessions (client_id);
CREATE INDEX ON nodebase.sessions (mitra_id);

-- What a chat message table of the original system holds: a key, the session, the sender,
-- the body, a status and a time; history is read by session in time order.
CREATE TABLE nodebase.chat_messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES nodebase.sessions (id),
    sender text NOT NULL,
    sender_id uuid NOT NULL,
    client_message_id text NOT NULL DEFAULT '',
    body text NOT NULL,
    status text NOT NULL DEFAULT 'sent',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON nodebase.chat_messages (session_id, created_at);

CREATE TABLE nodebase.mitra_presence (
    mitra_id uuid PRIMARY KEY REFERENCES nodebase.users (id),
    status text NOT NULL DEFAULT 'online',
    last_heartbeat_at timestamptz
);
