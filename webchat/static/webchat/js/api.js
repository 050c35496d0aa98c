// The public REST contract (api.md), nothing else. Bodies and errors are JSON; an error is
// {"code", "detail", "fields"?}, surfaced as ApiError.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? "network_error" : "http_error");
    this.fields = (body && body.fields) || null;
    this.retry_after = body && body.retry_after != null ? body.retry_after : null; // with `throttled`
  }
}

export class Api {
  constructor(role, auth) {
    this.role = role;
    this.auth = auth;
  }

  async request(method, path, body, { retryAuth = true } = {}) {
    const token = await this.auth.getToken();
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path.startsWith("/") ? path : `/api/${this.role}/${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
      });
    } catch (err) {
      throw new ApiError(0, { code: "network_error", detail: "Tidak ada koneksi." });
    }
    if (response.status === 401 && retryAuth) {
      await this.auth.getToken(true); // an expired token: refresh once and retry
      return this.request(method, path, body, { retryAuth: false });
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body === undefined ? {} : body); }
  put(path, body) { return this.request("PUT", path, body); }
  del(path) { return this.request("DELETE", path); }

  // Every page of a message list from a cursor (`after_seq` or, before seq, `after`).
  async messagesSince(sessionId, cursor) {
    const all = [];
    let params = cursor;
    for (let guard = 0; guard < 200; guard++) {
      const query = new URLSearchParams({ ...params, limit: "200" });
      const page = await this.get(`sessions/${sessionId}/messages?${query}`);
      all.push(...page.results);
      if (!page.next || !page.results.length) break;
      const last = page.results[page.results.length - 1];
      params = last.seq != null ? { after_seq: String(last.seq) } : { after: page.next };
    }
    return all;
  }
}
