const DAY_MS = 86_400_000;
/** A product's remembered answers: a client asking unusual queries cannot make one entry grow without bound. */
const MAX_ANSWERS_PER_PRODUCT = 64;
const MAX_REMEMBERED_QUERY_LENGTH = 128;

/**
 * A cached product's 200 answers by raw query string, for one UTC day. The answer depends on the
 * facts, the parsed query and "now" only through its UTC day (the special-price window is by
 * day), and the same query string always parses to the same query; so for one set of facts on one
 * day, the body text for a query string never changes. It lives in the facts' cache entry, so it
 * goes with them when a change for the sku (or the TTL) drops the entry.
 */
export class AnswerMemo {
  private day = Number.NaN;
  private readonly answers = new Map<string, { text: string; bytes: number }>();

  /** The remembered answer, or undefined (a new day forgets every answer). */
  find(rawQuery: string, now: Date): { text: string; bytes: number } | undefined {
    this.keepTo(now);
    return this.answers.get(rawQuery);
  }

  /** Remembers a 200 answer's body text computed with `now`. */
  remember(rawQuery: string, now: Date, text: string): { text: string; bytes: number } {
    const answer = { text, bytes: Buffer.byteLength(text) };
    if (rawQuery.length > MAX_REMEMBERED_QUERY_LENGTH) return answer;
    this.keepTo(now);
    if (this.answers.size >= MAX_ANSWERS_PER_PRODUCT) this.answers.clear();
    this.answers.set(rawQuery, answer);
    return answer;
  }

  /** Forgets every answer when `now` is on another UTC day than they were computed on. */
  private keepTo(now: Date): void {
    const day = Math.floor(now.getTime() / DAY_MS);
    if (day === this.day) return;
    this.answers.clear();
    this.day = day;
  }
}
