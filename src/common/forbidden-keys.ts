/** Keys that could reach an object's prototype if any code merged request data into an object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper bodies are refused outright: no form or htmx request nests this far, and the key check stops here. */
export const MAX_BODY_DEPTH = 20;

/** True when a parsed body or query uses a prototype-polluting key, or nests deeper than MAX_BODY_DEPTH (unchecked is refused). */
export function hasForbiddenKey(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > MAX_BODY_DEPTH) return true;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return true;
    if (hasForbiddenKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}
