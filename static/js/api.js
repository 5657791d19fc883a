// The HTTP API as the page uses it. Every POST carries the presenter token (when the page has
// one) in the X-Threadpulse-Token header; the API is the one judge of what is allowed.

const TOKEN_HEADER = "X-Threadpulse-Token";

export class Api {
  /** @param {string|null} token the presenter token, or null */
  constructor(token) {
    this.token = token;
  }

  /**
   * POSTs JSON; never throws. Answers {ok, status, body, error}: `error` is the API's own
   * message when it gave one, else a sentence saying what went wrong.
   */
  async post(path, payload) {
    const headers = { "Content-Type": "application/json" };
    if (this.token) headers[TOKEN_HEADER] = this.token;
    let response;
    try {
      response = await fetch(path, { method: "POST", headers, body: JSON.stringify(payload) });
    } catch {
      return { ok: false, status: 0, body: null, error: "Could not reach the dashboard." };
    }
    const body = await response.json().catch(() => null);
    const error = response.ok ? null : (body?.error ?? `HTTP ${response.status}`);
    return { ok: response.ok, status: response.status, body, error };
  }

  /** GETs JSON; answers {ok, status, body}, status 0 when the dashboard is unreachable. */
  async get(path) {
    let response;
    try {
      response = await fetch(path, { headers: this.token ? { [TOKEN_HEADER]: this.token } : {} });
    } catch {
      return { ok: false, status: 0, body: null };
    }
    const body = await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, body };
  }
}
