/** What taking a token from a rate limiter answers: yes, or when to retry and which key was empty. */
export type TakeResult = { ok: true } | { ok: false; retryAfterS: number; key: string };
