import type { ServerResponse } from 'node:http';

/**
 * The body of a 502/503/504 the proxy itself produces: JSON in Magento's `{message, parameters}`
 * shape for REST callers (the storefront's JavaScript parses it), a tiny HTML page otherwise.
 * Never a stack trace or an upstream address: the details go to the log line, keyed by request id.
 */
export function sendErrorResponse(res: ServerResponse, status: number, path: string, accept: string | undefined, requestId: string, extraHeaders: readonly string[]): void {
  const message = STATUS_MESSAGES[status] ?? 'The service is unavailable.';
  const json = path.startsWith('/rest/') || (accept !== undefined && accept.includes('application/json') && !accept.includes('text/html'));
  const body = json
    ? JSON.stringify({ message, parameters: [] })
    : `<!doctype html><html><head><meta charset="utf-8"><title>${status}</title></head><body><h1>${message}</h1><p>Please try again in a moment. Reference: ${escapeHtml(requestId)}</p></body></html>`;
  const headers = [
    'Content-Type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'Content-Length', String(Buffer.byteLength(body)),
    'Cache-Control', 'no-store',
    ...extraHeaders,
  ];
  res.writeHead(status, headers);
  res.end(body);
}

const STATUS_MESSAGES: Record<number, string> = {
  502: 'The service is temporarily unavailable.',
  503: 'The service is temporarily unavailable.',
  504: 'The service took too long to respond.',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
