import { Hono } from 'hono';
import text from './openapi.yaml';
import { needs } from './auth.js';
import type { Env } from './types.js';

let parsed: unknown = null;

/** The API's OpenAPI 3.1 document (src/http/openapi.yaml), as JSON and as written. */
export function openApiDocument(): unknown {
  parsed ??= (require('yaml') as typeof import('yaml')).parse(text);
  return parsed;
}

export function openApiRoutes(): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/openapi.json', needs('read'), (c) => c.json(openApiDocument()));
  r.get('/openapi.yaml', needs('read'), (c) => c.body(text, 200, { 'content-type': 'application/yaml; charset=utf-8' }));
  return r;
}
